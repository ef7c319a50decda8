// Package awstest holds the test helpers of packages the harness cannot serve: cloud/ and cmd/
// test themselves against endpoints that never answer, and the harness imports cloud/.
package awstest

import (
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// SilentEndpoint accepts TCP connections and never writes a byte, as a hung load balancer or a
// half-dead proxy does. It counts the connections it accepted.
type SilentEndpoint struct {
	URL      string
	mu       sync.Mutex
	accepted int
	conns    []net.Conn
}

// NewSilentEndpoint listens on a free loopback port until the test ends.
func NewSilentEndpoint(t *testing.T) *SilentEndpoint {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &SilentEndpoint{URL: "http://" + l.Addr().String()}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.accepted++
			s.conns = append(s.conns, c)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.conns {
			c.Close()
		}
	})
	return s
}

// Accepted is how many connections the endpoint took.
func (s *SilentEndpoint) Accepted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// IsolateAWS gives the test fake credentials in us-east-1 and keeps the developer's AWS setup
// (profiles, config files, endpoints, instance metadata) and tapctl's own variables out.
func IsolateAWS(t *testing.T) {
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
	for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_DEFAULTS_MODE",
		"TAPCTL_STATE_DIR", "TAPCTL_CONFIG", "TAPCTL_REGION"} {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)
	}
}
