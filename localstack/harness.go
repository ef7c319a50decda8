// Package localstack runs a local AWS emulator for tapctl's integration tests: moto in server
// mode, installed into a project-local virtualenv on first use, started on a free loopback port.
// With TAPCTL_TEST_ENDPOINT set (for example a LocalStack on http://localhost:4566) it starts
// nothing and the same tests run against that endpoint.
package localstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// MotoVersion is the pinned emulator; EMULATOR.md records what this version does.
const MotoVersion = "5.2.1"

// EndpointVariable names an already running emulator to use instead of starting moto.
const EndpointVariable = "TAPCTL_TEST_ENDPOINT"

// Emulator is a running moto server.
type Emulator struct {
	URL     string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
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
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// install puts moto[server] into <repo>/.venv-moto unless the pinned version is there. An flock
// keeps parallel test binaries (go test ./... runs packages at once) from installing together.
func install() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	venv := filepath.Join(root, ".venv-moto")
	server := filepath.Join(venv, "bin", "moto_server")
	lock, err := os.OpenFile(filepath.Join(root, ".venv-moto.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	marker := filepath.Join(venv, ".moto-version")
	if got, err := os.ReadFile(marker); err == nil && strings.TrimSpace(string(got)) == MotoVersion {
		if _, err := os.Stat(server); err == nil {
			return server, nil
		}
	}
	fmt.Fprintf(os.Stderr, "localstack: installing moto[server]==%s into .venv-moto (first run only)\n", MotoVersion)
	python := "python3"
	if p := os.Getenv("PYTHON"); p != "" {
		python = p
	}
	steps := [][]string{
		{python, "-m", "venv", venv},
		{filepath.Join(venv, "bin", "pip"), "install", "--quiet", "--disable-pip-version-check", "moto[server]==" + MotoVersion},
	}
	for _, args := range steps {
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, tail(string(out), 20))
		}
	}
	if err := os.WriteFile(marker, []byte(MotoVersion+"\n"), 0o644); err != nil {
		return "", err
	}
	return server, nil
}

// Start installs moto if needed and runs it on a free 127.0.0.1 port until Stop.
func Start(ctx context.Context) (*Emulator, error) {
	server, err := install()
	if err != nil {
		return nil, fmt.Errorf("installing moto: %w", err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		e, err := startOn(ctx, server)
		if err == nil {
			return e, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func startOn(ctx context.Context, server string) (*Emulator, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	logFile, err := os.CreateTemp("", fmt.Sprintf("moto-%d-*.log", port))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(server, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Env = append(os.Environ(),
		"MOTO_IAM_LOAD_MANAGED_POLICIES=true", // attaching AWS managed policies needs them
		"MOTO_ECS_SERVICE_RUNNING=2",          // services report running tasks; desired count is 2
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", server, err)
	}
	logFile.Close()
	e := &Emulator{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, logPath: logFile.Name(), done: make(chan struct{})}
	go func() { cmd.Wait(); close(e.done) }()

	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-e.done:
			return nil, fmt.Errorf("moto exited during start-up:\n%s", e.logTail())
		case <-ctx.Done():
			e.Stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := client.Get(e.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return e, nil
			}
		}
	}
	e.Stop()
	return nil, fmt.Errorf("moto did not answer on %s within 60s:\n%s", e.URL, e.logTail())
}

func (e *Emulator) logTail() string {
	raw, _ := os.ReadFile(e.logPath)
	return tail(string(raw), 20)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Stop ends the emulator's process group: SIGTERM, then SIGKILL after 5 s.
func (e *Emulator) Stop() error {
	if e == nil || e.cmd == nil || e.cmd.Process == nil {
		return nil
	}
	pgid := e.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-e.done
	}
	os.Remove(e.logPath)
	return nil
}

// Reset empties moto's backends; against TAPCTL_TEST_ENDPOINT it does nothing.
func Reset(endpoint string) error {
	if os.Getenv(EndpointVariable) != "" {
		return nil
	}
	resp, err := http.Post(endpoint+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

var shared string // the endpoint of this test binary's emulator

// Main runs a test binary's tests against one emulator: TAPCTL_TEST_ENDPOINT when set, else a
// moto it starts and stops. AWS credentials are fake and isolated from the developer's profile.
func Main(m *testing.M) int {
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		os.Setenv(k, v)
	}
	os.Unsetenv("AWS_PROFILE")
	os.Unsetenv("AWS_SESSION_TOKEN")
	os.Unsetenv("AWS_ENDPOINT_URL")
	empty, err := os.CreateTemp("", "aws-empty-config-")
	if err == nil {
		empty.Close()
		defer os.Remove(empty.Name())
		os.Setenv("AWS_CONFIG_FILE", empty.Name())
		os.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty.Name())
	}
	if ep := os.Getenv(EndpointVariable); ep != "" {
		shared = strings.TrimRight(ep, "/")
		return m.Run()
	}
	e, err := Start(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "localstack: cannot start the emulator: %v\n", err)
		return 1
	}
	defer e.Stop()
	shared = e.URL
	return m.Run()
}

// Endpoint is the emulator's URL for a test; it fails the test when Main did not start one.
func Endpoint(t testing.TB) string {
	t.Helper()
	if shared == "" {
		t.Fatal("no emulator: the package's TestMain must call localstack.Main")
	}
	return shared
}
