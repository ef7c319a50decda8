package scenarios

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tapctl/tapctl/localstack"
	"github.com/tapctl/tapctl/state"
)

// Ctrl-C (SIGINT) or a CI cancel (SIGTERM) while up or down runs ends tapctl with one line
// saying how many changes it made, and the exit code a shell gives a process that signal ended;
// the state file is whole, and the same command run again finishes the work. The proxy holds the
// k-th mutating call's answer, the test sends the signal, and the answer is dropped once tapctl
// has hung up: tapctl is interrupted with a call in flight, at a point the test chooses.
func TestInterruptedRunSaysHowFarItGotAndTheNextRunFinishes(t *testing.T) {
	for _, tc := range []struct {
		command string
		signal  syscall.Signal
		k       int // the mutating call whose answer is held
		code    int
	}{
		{"up", syscall.SIGINT, 1, 130},
		{"up", syscall.SIGTERM, 6, 143},
		{"down", syscall.SIGINT, 10, 130},
	} {
		t.Run(tc.command+"/"+tc.signal.String(), func(t *testing.T) {
			t.Parallel()
			p, again, env, dir := startProxy(t), startProxy(t), newEnvName(t), t.TempDir()
			downAtCleanup(t, dir, env)
			args := []string{"up", "--env", env, "--no-wait"}
			if tc.command == "down" {
				tapctlAt(t, p.URL, dir, nil, args...).mustSucceed(t)
				args = []string{"down", "--yes", "--env", env}
			}
			run := runInterrupted(t, p, tc.k, tc.signal, dir, args...)
			if run.code != tc.code {
				t.Errorf("exit %d, want %d\n%s", run.code, tc.code, tail(run.stderr, 5))
			}
			assertInterruptedLine(t, run.stderr)
			if _, err := state.Open(dir, env); err != nil {
				t.Errorf("state file after the interruption: %v", err)
			}
			tapctlAt(t, again.URL, dir, nil, args...).mustSucceed(t)
			if tc.command == "down" {
				if left := leftovers(t, env); len(left) != 0 {
					t.Errorf("after the second down, left: %v", left)
				}
				assertCreatedAreGone(t, append(p.Journal(), again.Journal()...))
				return
			}
			assertInventory(t, dir, env)
			assertCreatedAreTheInventory(t, append(p.Journal(), again.Journal()...), env)
		})
	}
}

type interruptedRun struct {
	code   int
	stderr string
}

// runInterrupted runs the binary through p and sends it sig while p holds the answer of its k-th
// mutating call (HoldAfterMutating). p is settled afterwards: what tapctl had sent is carried out.
func runInterrupted(t *testing.T, p *localstack.Proxy, k int, sig syscall.Signal, dir string, args ...string) interruptedRun {
	t.Helper()
	c := exec.Command(binary(t), append([]string{"--endpoint", p.URL, "--state-dir", dir, "--log-format", "json"}, args...)...)
	c.Env = os.Environ() // TestMain's fake credentials and region, no developer profile
	var stderr bytes.Buffer
	c.Stdout, c.Stderr = &stderr, &stderr
	started, signalled := make(chan struct{}), make(chan string, 1)
	p.HoldAfterMutating(k, func(op string) {
		<-started
		if err := c.Process.Signal(sig); err != nil {
			t.Errorf("sending %v: %v", sig, err)
		}
		signalled <- op
	})
	must(t, c.Start())
	close(started)
	// Only a guard against a tapctl that ignores the signal; the assertions never depend on it.
	guard := time.AfterFunc(5*time.Minute, func() { c.Process.Kill() })
	err := c.Wait()
	guard.Stop()
	p.Settle()
	select {
	case op := <-signalled:
		t.Logf("%v sent while the answer to %s (mutating call %d) was held", sig, op, k)
	default:
		t.Fatalf("tapctl %v ended before its %d-th mutating call (%v):\n%s", args, k, err, tail(stderr.String(), 5))
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("tapctl %v: %v, want an exit code\n%s", args, err, tail(stderr.String(), 5))
	}
	if ws := exit.Sys().(syscall.WaitStatus); ws.Signaled() {
		t.Fatalf("tapctl %v was ended by %v instead of exiting after the signal\n%s", args, ws.Signal(), tail(stderr.String(), 5))
	}
	return interruptedRun{code: exit.ExitCode(), stderr: stderr.String()}
}

var interruptedLine = regexp.MustCompile(`^tapctl: interrupted after (\d+) changes?; the state file is saved; run the same command again to finish$`)

// assertInterruptedLine: tapctl's own last word is the one line, and the number it gives is the
// number of changes the log reported; no step's "context canceled" error is shown.
func assertInterruptedLine(t *testing.T, stderr string) {
	t.Helper()
	var own []string
	changes := 0
	for _, line := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
		if strings.HasPrefix(line, "tapctl: ") {
			own = append(own, line)
			continue
		}
		var entry struct{ Message string }
		if json.Unmarshal([]byte(line), &entry) == nil {
			for _, verb := range []string{"created ", "updated ", "deleted "} {
				if strings.HasPrefix(entry.Message, verb) {
					changes++
				}
			}
		}
		if strings.Contains(line, "context canceled") {
			t.Errorf("a step's cancellation is shown: %s", line)
		}
	}
	if len(own) != 1 {
		t.Fatalf("tapctl's own lines: %q, want exactly one\n%s", own, tail(stderr, 5))
	}
	t.Logf("%s", own[0])
	m := interruptedLine.FindStringSubmatch(own[0])
	if m == nil {
		t.Fatalf("tapctl's line %q, want %s", own[0], interruptedLine)
	}
	if n, _ := strconv.Atoi(m[1]); n != changes {
		t.Errorf("the line says %d changes, the log reported %d", n, changes)
	}
}
