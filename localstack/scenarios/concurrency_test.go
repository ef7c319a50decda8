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

// Two ups on one environment at once: one runs, the other stops at the lock with exit 1 and one
// line naming the holder; the state file is whole and the environment is right. The second starts
// while the proxy holds the first after its first change (so the first surely holds the lock) and
// the first goes on once the second has ended: neither outcome depends on how fast either starts.
func TestTwoUpsAtOnceOneRunsTheOtherIsRefused(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	type outcome struct {
		code    int
		stderr  string
		elapsed time.Duration
	}
	up := func(endpoint string) outcome {
		c := exec.Command(binary(t), "--endpoint", endpoint, "--state-dir", dir, "--log-format", "json", "up", "--env", env, "--no-wait")
		c.Env = os.Environ()
		var stderr bytes.Buffer
		c.Stderr = &stderr
		start := time.Now()
		err := c.Run()
		o := outcome{stderr: stderr.String(), elapsed: time.Since(start)}
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			o.code = exit.ExitCode()
		} else if err != nil {
			o.code = -1
		}
		return o
	}
	p := startProxy(t)
	second := make(chan outcome, 1)
	p.PauseAfterMutating(1, func(string) { second <- up(localstack.Endpoint(t)) })
	ran := up(p.URL)
	var refused outcome
	select {
	case refused = <-second:
	default:
		t.Fatalf("the first up ended (exit %d) before its first change:\n%s", ran.code, tail(ran.stderr, 3))
	}
	if ran.code != 0 {
		t.Fatalf("the first up exited %d:\n%s", ran.code, tail(ran.stderr, 3))
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
