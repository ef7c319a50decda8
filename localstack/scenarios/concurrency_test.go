package scenarios

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tapctl/tapctl/localstack"
	"github.com/tapctl/tapctl/state"
)

// Two up on one environment at the same instant: one runs, the other stops at the lock with
// exit 1 and one line naming the holder; the state file is whole and the environment is right.
func TestTwoUpsAtOnceOneRunsTheOtherIsRefused(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	type outcome struct {
		code    int
		stderr  string
		elapsed time.Duration
	}
	outcomes := make(chan outcome, 2)
	var cmds []*exec.Cmd
	for i := 0; i < 2; i++ {
		c := exec.Command(binary(t), "--endpoint", localstack.Endpoint(t), "--state-dir", dir, "--log-format", "json", "up", "--env", env, "--no-wait")
		c.Env = os.Environ()
		cmds = append(cmds, c)
	}
	for _, c := range cmds { // started back to back, before either is waited for
		var stderr bytes.Buffer
		c.Stderr = &stderr
		start := time.Now()
		must(t, c.Start())
		go func() {
			err := c.Wait()
			o := outcome{stderr: stderr.String(), elapsed: time.Since(start)}
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				o.code = exit.ExitCode()
			} else if err != nil {
				o.code = -1
			}
			outcomes <- o
		}()
	}
	a, b := <-outcomes, <-outcomes
	if a.code == 0 { // b is the one refused, or the test fails below
		a, b = b, a
	}
	refused, ran := a, b
	if ran.code != 0 {
		t.Fatalf("neither up succeeded: exits %d and %d\n%s\n%s", refused.code, ran.code, tail(refused.stderr, 3), tail(ran.stderr, 3))
	}
	t.Logf("the refused up exited %d after %s (the other ran for %s)", refused.code, refused.elapsed.Round(time.Millisecond), ran.elapsed.Round(time.Millisecond))
	msg := strings.TrimSpace(refused.stderr)
	if refused.code != 1 || strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "is in use by another tapctl (pid ") {
		t.Errorf("refused up: exit %d, stderr %q; want exit 1 and one line naming the lock's holder", refused.code, msg)
	}
	if _, err := state.Open(dir, env); err != nil {
		t.Fatalf("state file after two ups at once: %v", err)
	}
	assertInventory(t, dir, env)
	if m := tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t).Calls.Mutating(); len(m) != 0 {
		t.Errorf("up after the race still changed %v", m)
	}
}
