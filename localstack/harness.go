// Package localstack runs a local AWS emulator for tapctl's integration tests: moto in server
// mode, installed into a project-local virtualenv (<repo>/.venv-moto) on first use and started on
// a free loopback port. With TAPCTL_TEST_ENDPOINT set (for example a LocalStack on
// http://localhost:4566) it starts nothing and the same tests run against that endpoint.
//
// A test package uses it as
//
//	func TestMain(m *testing.M) { os.Exit(localstack.Main(m)) }
//
// and each test asks for the endpoint with localstack.Endpoint(t). The integration tests
// themselves are in localstack/scenarios; this package's own tests check the harness.
package localstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	motoServer, err := install(ctx)
	if err != nil {
		return nil, err
	}
	server, err := correctedServer(motoServer)
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
