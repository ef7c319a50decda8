// Package localstack runs a local AWS emulator for tapctl's integration tests: moto in server
// mode, installed into a project-local virtualenv (<repo>/.venv-moto) on first use and started on
// a free loopback port. With TAPCTL_TEST_ENDPOINT set (for example a LocalStack on
// http://localhost:4566) it starts nothing and the same tests run against that endpoint.
//
// A test package uses it as
//
//	func TestMain(m *testing.M) { os.Exit(localstack.Main(m)) }
//
// and each test asks for the endpoint with localstack.Endpoint(t).
package localstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// MotoVersion is the pinned emulator; /work/shared/EMULATOR.md records what this version does.
const MotoVersion = "5.2.1"

// EndpointVariable names an already running emulator to use instead of starting moto.
const EndpointVariable = "TAPCTL_TEST_ENDPOINT"

const (
	venvDir       = ".venv-moto"
	lockFile      = ".venv-moto.lock"
	versionMarker = ".moto-version"
	startTimeout  = 60 * time.Second
	pollInterval  = 100 * time.Millisecond
	stopGrace     = 5 * time.Second
	portRetries   = 3 // new ports tried after the first when another process took the port
	logTailLines  = 20
)

// Emulator is a running moto server, started by Start and ended by Stop.
type Emulator struct {
	URL string // http://127.0.0.1:PORT

	cmd      *exec.Cmd
	logPath  string
	done     chan struct{} // closed once the process has exited and been reaped
	stopOnce sync.Once
	stopErr  error
}

// RepoRoot is the directory holding go.mod, found from the working directory upwards.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod in the working directory or above it")
		}
		dir = parent
	}
}

// Start installs moto if needed and runs it on a free 127.0.0.1 port until Stop. ctx bounds the
// installation and the start-up, not the emulator's life.
func Start(ctx context.Context) (*Emulator, error) {
	server, err := install(ctx)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt <= portRetries; attempt++ {
		e, err := startOn(ctx, server)
		if err == nil {
			return e, nil
		}
		if !errors.Is(err, errPortTaken) {
			return nil, err
		}
		lastErr = err
	}
	return nil, fmt.Errorf("moto: %d ports in a row were taken before moto could bind them: %w", portRetries+1, lastErr)
}

// Stop ends the emulator's process group: SIGTERM, then SIGKILL after 5 s. It removes the log
// file and may be called more than once.
func (e *Emulator) Stop() error { return e.stop(false) }

func (e *Emulator) stop(keepLog bool) error {
	if e == nil || e.cmd == nil || e.cmd.Process == nil {
		return nil
	}
	e.stopOnce.Do(func() {
		pgid := e.cmd.Process.Pid // Setpgid: the group id is the leader's pid
		select {
		case <-e.done: // already exited (crashed): nothing to signal, and the pid may be reused
		default:
			if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
				e.stopErr = fmt.Errorf("stopping moto (pid %d): %w", pgid, err)
			}
			select {
			case <-e.done:
			case <-time.After(stopGrace):
				_ = syscall.Kill(-pgid, syscall.SIGKILL)
				select {
				case <-e.done:
				case <-time.After(stopGrace):
					e.stopErr = fmt.Errorf("moto (pid %d) did not exit after SIGKILL", pgid)
				}
			}
		}
		if !keepLog {
			os.Remove(e.logPath)
		}
	})
	return e.stopErr
}

// exited reports whether the emulator's process has ended.
func (e *Emulator) exited() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

func (e *Emulator) logTail() string { return fileTail(e.logPath, logTailLines) }

// Reset empties every moto backend (POST /moto-api/reset). Against TAPCTL_TEST_ENDPOINT, which
// need not be moto, it does nothing.
func Reset(endpoint string) error {
	if os.Getenv(EndpointVariable) != "" {
		return nil
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Post(strings.TrimRight(endpoint, "/")+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return fmt.Errorf("resetting moto: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("resetting moto: %s answered %s", endpoint, resp.Status)
	}
	return nil
}

// --- installation ---------------------------------------------------------------------------

// install makes sure <repo>/.venv-moto holds the pinned moto[server] and returns the path of its
// moto_server. An flock on <repo>/.venv-moto.lock keeps parallel test binaries (go test ./...
// runs packages at once) from installing together; the others wait and then find it installed.
func install(ctx context.Context) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	venv := filepath.Join(root, venvDir)
	server := filepath.Join(venv, "bin", "moto_server")

	lock, err := os.OpenFile(filepath.Join(root, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", fmt.Errorf("installing moto: %w", err)
	}
	defer lock.Close() // closing releases the flock
	if err := flock(ctx, lock); err != nil {
		return "", fmt.Errorf("installing moto: locking %s: %w", lock.Name(), err)
	}

	if installed(venv, server) {
		return server, nil
	}
	spec := "moto[server]==" + MotoVersion
	fmt.Fprintf(os.Stderr, "localstack: installing %s into %s (first run only)\n", spec, venvDir)

	logFile, err := os.CreateTemp("", "tapctl-moto-install-*.log")
	if err != nil {
		return "", fmt.Errorf("installing moto: %w", err)
	}
	defer logFile.Close()
	python := "python3"
	if p := os.Getenv("PYTHON"); p != "" {
		python = p
	}
	steps := [][]string{
		// --clear: a venv with another version, or one whose scripts name a python that is gone
		// (the repository was moved), is rebuilt rather than patched.
		{python, "-m", "venv", "--clear", venv},
		{filepath.Join(venv, "bin", "pip"), "install", "--quiet", "--disable-pip-version-check", spec},
	}
	for _, args := range steps {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Run(); err != nil {
			if ctx.Err() != nil {
				return "", fmt.Errorf("installing moto: %w", ctx.Err())
			}
			return "", &startError{
				msg:     fmt.Sprintf("installing moto: %s: %v", strings.Join(args, " "), err),
				tail:    fileTail(logFile.Name(), logTailLines),
				logPath: logFile.Name(),
			}
		}
	}
	if err := os.WriteFile(filepath.Join(venv, versionMarker), []byte(MotoVersion+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("installing moto: %w", err)
	}
	logFile.Close()
	os.Remove(logFile.Name())
	return server, nil
}

// installed: the marker names the pinned version and moto_server exists with a working
// interpreter line (a virtualenv's scripts name its python by absolute path).
func installed(venv, server string) bool {
	got, err := os.ReadFile(filepath.Join(venv, versionMarker))
	if err != nil || strings.TrimSpace(string(got)) != MotoVersion {
		return false
	}
	f, err := os.Open(server)
	if err != nil {
		return false
	}
	defer f.Close()
	first, _ := bufio.NewReader(f).ReadString('\n')
	if interp, ok := strings.CutPrefix(strings.TrimSpace(first), "#!"); ok {
		if fields := strings.Fields(interp); len(fields) > 0 {
			if _, err := os.Stat(fields[0]); err != nil {
				return false
			}
		}
	}
	return true
}

// flock takes an exclusive lock on f, waiting for other holders while ctx allows.
func flock(ctx context.Context, f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// --- start-up -------------------------------------------------------------------------------

var errPortTaken = errors.New("port taken")

// startError is a failure with the tail of a log; Error gives both, Main prints one line.
type startError struct {
	msg     string
	tail    string
	logPath string
}

func (e *startError) Error() string {
	if e.tail == "" {
		return e.msg
	}
	return e.msg + "; last lines of " + e.logPath + ":\n" + e.tail
}

// startOn runs server on a port that was free a moment ago and waits until it answers.
func startOn(ctx context.Context, server string) (*Emulator, error) {
	port, err := pickPort()
	if err != nil {
		return nil, fmt.Errorf("finding a free port: %w", err)
	}
	logFile, err := os.CreateTemp("", fmt.Sprintf("tapctl-moto-%d-*.log", port))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(server, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Env = append(os.Environ(),
		"MOTO_IAM_LOAD_MANAGED_POLICIES=true", // attaching AWS managed policies needs them
		"MOTO_ECS_SERVICE_RUNNING=2",          // else services never report running tasks
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Stop signals the whole group
	setParentDeathSignal(cmd.SysProcAttr)
	err = cmd.Start()
	logFile.Close() // the child holds its own descriptor
	if err != nil {
		os.Remove(logFile.Name())
		return nil, fmt.Errorf("starting %s: %w", server, err)
	}
	e := &Emulator{
		URL:     "http://127.0.0.1:" + strconv.Itoa(port),
		cmd:     cmd,
		logPath: logFile.Name(),
		done:    make(chan struct{}),
	}
	go func() { cmd.Wait(); close(e.done) }()

	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-e.done:
			tail := e.logTail()
			if strings.Contains(tail, "Address already in use") {
				os.Remove(e.logPath)
				return nil, errPortTaken
			}
			return nil, &startError{
				msg:     fmt.Sprintf("moto exited during start-up (%v)", cmd.ProcessState),
				tail:    tail,
				logPath: e.logPath,
			}
		case <-ctx.Done():
			e.Stop()
			return nil, fmt.Errorf("starting moto: %w", ctx.Err())
		case <-deadline.C:
			e.stop(true)
			return nil, &startError{
				msg:     fmt.Sprintf("moto did not answer on %s within %s", e.URL, startTimeout),
				tail:    e.logTail(),
				logPath: e.logPath,
			}
		case <-tick.C:
		}
		resp, err := client.Get(e.URL + "/moto-api/")
		if err != nil {
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		// Whoever took the port in the race may be answering (another test binary's moto):
		// the answer counts only when the listening socket is this process's.
		if resp.StatusCode == http.StatusOK && ownsListener(cmd.Process.Pid, port) {
			return e, nil
		}
	}
}

// pickPort is freePort; tests replace it to stage the race for a port.
var pickPort = freePort

// freePort is a 127.0.0.1 port nobody listened on a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ownsListener reports whether process pid holds the socket listening on port. It reads /proc
// (Linux); where that is missing it answers true and the answer alone decides.
func ownsListener(pid, port int) bool {
	inodes := map[string]bool{}
	found := false
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		raw, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		found = true
		suffix := fmt.Sprintf(":%04X", port)
		for _, line := range strings.Split(string(raw), "\n")[1:] {
			f := strings.Fields(line)
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			if len(f) >= 10 && f[3] == "0A" && strings.HasSuffix(f[1], suffix) {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	if !found {
		return true
	}
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(fdDir)
	if err != nil {
		return false
	}
	for _, entry := range entries {
		if target, err := os.Readlink(filepath.Join(fdDir, entry.Name())); err == nil && inodes[target] {
			return true
		}
	}
	return false
}

// setParentDeathSignal asks Linux to SIGKILL moto when this process dies without calling Stop
// (a test timeout's panic, a crash, a kill), so no emulator outlives its test binary. The field
// exists only on Linux, hence reflection rather than a build-tagged file; elsewhere it is a no-op.
func setParentDeathSignal(attr *syscall.SysProcAttr) {
	if f := reflect.ValueOf(attr).Elem().FieldByName("Pdeathsig"); f.IsValid() && f.CanSet() &&
		reflect.TypeOf(syscall.SIGKILL).AssignableTo(f.Type()) {
		f.Set(reflect.ValueOf(syscall.SIGKILL))
	}
}

func fileTail(path string, n int) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// --- test binaries --------------------------------------------------------------------------

var (
	shared    string    // the endpoint this test binary's tests use
	sharedEmu *Emulator // the emulator Main started, nil with TAPCTL_TEST_ENDPOINT
)

// Main runs a test binary's tests against one emulator: TAPCTL_TEST_ENDPOINT when set, else a
// moto it starts before m.Run and stops after. AWS credentials are fake and the developer's
// profile and config files are never read. Returns the exit code for os.Exit.
func Main(m *testing.M) int {
	endpoint := strings.TrimRight(os.Getenv(EndpointVariable), "/")
	cleanup, err := isolateAWSEnv(endpoint != "")
	if err != nil {
		fmt.Fprintf(os.Stderr, "localstack: cannot isolate the AWS configuration: %v\n", err)
		return 1
	}
	defer cleanup()

	if endpoint != "" {
		shared = endpoint
		return m.Run()
	}

	// Ctrl-C or SIGTERM: stop the emulator (it runs in its own process group, out of reach of
	// the terminal's signal), then die of the same signal.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	var (
		mu      sync.Mutex
		started = make(chan struct{})
	)
	go func() {
		sig := <-sigs
		cancel()
		<-started
		mu.Lock()
		sharedEmu.Stop()
		mu.Unlock()
		signal.Reset(sig)
		syscall.Kill(os.Getpid(), sig.(syscall.Signal))
	}()

	e, err := Start(ctx)
	mu.Lock()
	sharedEmu = e
	mu.Unlock()
	close(started)
	if err != nil {
		fmt.Fprintf(os.Stderr, "localstack: cannot start the emulator (moto %s): %s\n", MotoVersion, oneLine(err))
		return 1
	}
	shared = e.URL

	code := m.Run()

	keep := code != 0
	if err := e.stop(keep); err != nil {
		fmt.Fprintf(os.Stderr, "localstack: %v\n", err)
	}
	if keep {
		fmt.Fprintf(os.Stderr, "localstack: emulator log kept at %s\n", e.logPath)
	}
	return code
}

// oneLine states a start failure on one line, pointing at the log for the details.
func oneLine(err error) string {
	var se *startError
	if errors.As(err, &se) {
		if se.logPath != "" {
			return se.msg + " (log: " + se.logPath + ")"
		}
		return se.msg
	}
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// isolateAWSEnv sets fake credentials and a region (kept as they are when an external endpoint
// is used and they are already set), drops the profile, and points the config and credential
// files at an empty file so nothing of the developer's real AWS setup is read.
func isolateAWSEnv(keepSet bool) (cleanup func(), err error) {
	haveCreds := os.Getenv("AWS_ACCESS_KEY_ID") != "" && os.Getenv("AWS_SECRET_ACCESS_KEY") != ""
	if !keepSet || !haveCreds {
		os.Setenv("AWS_ACCESS_KEY_ID", "testing")
		os.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
		os.Unsetenv("AWS_SESSION_TOKEN")
	}
	if !keepSet || os.Getenv("AWS_REGION") == "" {
		os.Setenv("AWS_REGION", "us-east-1")
	}
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"} {
		os.Unsetenv(k)
	}
	empty, err := os.CreateTemp("", "tapctl-aws-empty-")
	if err != nil {
		return nil, err
	}
	empty.Close()
	os.Setenv("AWS_CONFIG_FILE", empty.Name())
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty.Name())
	return func() { os.Remove(empty.Name()) }, nil
}

// Endpoint is the emulator's URL ("http://127.0.0.1:PORT") for a test. It fails the test when the
// package's TestMain does not call Main, or when the emulator has died.
func Endpoint(t testing.TB) string {
	t.Helper()
	if shared == "" {
		t.Fatal("localstack: no emulator: the package needs func TestMain(m *testing.M) { os.Exit(localstack.Main(m)) }")
	}
	if sharedEmu != nil && sharedEmu.exited() {
		t.Fatalf("localstack: the emulator at %s has exited (%v); last lines of %s:\n%s",
			shared, sharedEmu.cmd.ProcessState, sharedEmu.logPath, sharedEmu.logTail())
	}
	return shared
}
