package cmd

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tapctl/tapctl/localstack/awstest"
)

// isolateAWS gives the run fake credentials, keeps the developer's AWS setup out and runs in an
// empty directory (no ./tapctl.yaml of the developer's).
func isolateAWS(t *testing.T) {
	awstest.IsolateAWS(t)
	t.Chdir(t.TempDir())
}

// An endpoint that accepts connections and never answers fails every command with the
// preflight's one line, after one attempt's timeout, instead of hanging; nothing is written.
// The timeout is shortened here (Options.AttemptTimeout); the product's is 30 s.
func TestSilentEndpointFailsWithOneLineAndWritesNothing(t *testing.T) {
	isolateAWS(t)
	for _, args := range [][]string{{"up", "--no-wait"}, {"status"}, {"down", "--yes"}, {"plan"}} {
		t.Run(args[0], func(t *testing.T) {
			silent, dir := awstest.NewSilentEndpoint(t), t.TempDir()
			var stdout, stderr bytes.Buffer
			full := append([]string{"tapctl", "--endpoint", silent.URL, "--state-dir", dir, "--log-format", "json", args[0], "--env", "x"}, args[1:]...)
			code := Run(context.Background(), full, Options{Stdout: &stdout, Stderr: &stderr, AttemptTimeout: 2 * time.Second})
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if code != ExitError || len(lines) != 1 || !strings.HasPrefix(lines[0], "tapctl: cannot reach the AWS endpoint") {
				t.Errorf("exit %d, stderr %q: want exit 1 and one line starting %q", code, stderr.String(), "tapctl: cannot reach the AWS endpoint")
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: %q", stdout.String())
			}
			// The preflight's one call, never retried, and nothing after it.
			if n := silent.Accepted(); n != 1 {
				t.Errorf("%d connections to the endpoint, want 1 (the preflight)", n)
			}
			if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
				t.Errorf("state directory holds %v (%v), want nothing", entries, err)
			}
		})
	}
}
