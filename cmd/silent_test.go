package cmd

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// silentEndpoint accepts TCP connections and never writes a byte, as a hung load balancer or a
// half-dead proxy does.
type silentEndpoint struct {
	url      string
	mu       sync.Mutex
	accepted int
}

func newSilentEndpoint(t *testing.T) *silentEndpoint {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silentEndpoint{url: "http://" + l.Addr().String()}
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.accepted++
			conns = append(conns, c)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return s
}

func (s *silentEndpoint) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// isolateAWS gives the run fake credentials and keeps the developer's AWS setup out.
func isolateAWS(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
		"AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty, "AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULTS_MODE", "TAPCTL_STATE_DIR", "TAPCTL_CONFIG", "TAPCTL_REGION"} {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)
	}
	t.Chdir(t.TempDir()) // no ./tapctl.yaml of the developer's
}

// An endpoint that accepts connections and never answers fails every command with the
// preflight's one line, after one attempt's timeout, instead of hanging; nothing is written.
// The timeout is shortened here (Options.AttemptTimeout); the product's is 30 s.
func TestSilentEndpointFailsWithOneLineAndWritesNothing(t *testing.T) {
	isolateAWS(t)
	for _, args := range [][]string{{"up", "--no-wait"}, {"status"}, {"down", "--yes"}, {"plan"}} {
		t.Run(args[0], func(t *testing.T) {
			silent, dir := newSilentEndpoint(t), t.TempDir()
			var stdout, stderr bytes.Buffer
			full := append([]string{"tapctl", "--endpoint", silent.url, "--state-dir", dir, "--log-format", "json", args[0], "--env", "x"}, args[1:]...)
			code := Run(context.Background(), full, Options{Stdout: &stdout, Stderr: &stderr, AttemptTimeout: 2 * time.Second})
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if code != ExitError || len(lines) != 1 || !strings.HasPrefix(lines[0], "tapctl: cannot reach the AWS endpoint") {
				t.Errorf("exit %d, stderr %q: want exit 1 and one line starting %q", code, stderr.String(), "tapctl: cannot reach the AWS endpoint")
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: %q", stdout.String())
			}
			// The preflight's one call, never retried, and nothing after it.
			if n := silent.connections(); n != 1 {
				t.Errorf("%d connections to the endpoint, want 1 (the preflight)", n)
			}
			if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
				t.Errorf("state directory holds %v (%v), want nothing", entries, err)
			}
		})
	}
}
