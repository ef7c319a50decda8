package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tapctl/tapctl/localstack"
	"github.com/tapctl/tapctl/state"
)

// Crash tests: the real binary runs through the proxy, which SIGKILLs it right after its k-th
// mutating call was carried out by AWS and before the answer reaches it (killpoint.go). Then the
// same command runs again, to completion, and the environment must be exactly what it should be.
//
// TAPCTL_CRASH_SWEEP=full (`make crash-sweep`) tries every k; otherwise an evenly spread sample,
// the first and the last k included, keeps `make test` inside its time budget. The sample moves
// by one each day, so that successive CI runs cover every k. A failing k is run again alone with
// TAPCTL_CRASH_SWEEP=full go test -run 'TestKilledUpIsFinishedByTheNextUp/^k=N$' ./localstack/scenarios/

const crashSweepVariable = "TAPCTL_CRASH_SWEEP"

// crashSampleEvery is the spacing of the sampled kill points in the default (CI) run.
const crashSampleEvery = 6

// crashPoints returns the k to try out of total mutating calls.
func crashPoints(total int) []int { return crashPointsEvery(total, crashSampleEvery) }

// crashPointsEvery is crashPoints with the sample's spacing.
func crashPointsEvery(total, every int) []int {
	var ks []int
	if os.Getenv(crashSweepVariable) == "full" {
		for k := 1; k <= total; k++ {
			ks = append(ks, k)
		}
		return ks
	}
	ks = append(ks, 1)
	for k := 1 + time.Now().YearDay()%every; k < total; k += every {
		if k > 1 {
			ks = append(ks, k)
		}
	}
	return append(ks, total)
}

// killedRun is a run of the binary the proxy killed.
type killedRun struct {
	After   string // the operation carried out right before the kill
	Carried int    // the proxy's journal length once the killed process was gone
	Stderr  string
	Elapsed time.Duration
}

// runKilledAfter runs the binary through p and SIGKILLs it after its k-th mutating call carried
// out. The test fails when the process ended any other way. p is closed afterwards.
func runKilledAfter(t *testing.T, p *localstack.Proxy, k int, dir string, args ...string) killedRun {
	t.Helper()
	c := exec.Command(binary(t), append([]string{"--endpoint", p.URL, "--state-dir", dir, "--log-format", "json"}, args...)...)
	c.Env = os.Environ() // TestMain's fake credentials and region, no developer profile
	var stderr bytes.Buffer
	c.Stdout, c.Stderr = &stderr, &stderr
	started := make(chan struct{})
	var after atomic.Value
	p.KillAfterMutating(k, func(op string) {
		<-started
		after.Store(op)
		// os.Process.Signal is safe against a reaped and reused pid.
		if err := c.Process.Signal(syscall.SIGKILL); err != nil {
			t.Errorf("k=%d: killing tapctl: %v", k, err)
		}
	})
	start := time.Now()
	must(t, c.Start())
	close(started)
	err := c.Wait()
	p.Settle() // what the dead process had sent is carried out now, or never
	run := killedRun{Stderr: stderr.String(), Elapsed: time.Since(start)}
	run.After, _ = after.Load().(string)
	run.Carried = len(p.Journal())
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("k=%d: tapctl %v was not killed after its %d-th mutating call (%v):\n%s", k, args, k, err, tail(run.Stderr, 5))
	}
	t.Logf("k=%d: killed after %s (%s)", k, run.After, run.Elapsed.Round(time.Millisecond))
	return run
}

// assertStateReadable: whatever instant tapctl died at, its state file is whole (or absent).
func assertStateReadable(t *testing.T, dir, env string) {
	t.Helper()
	if _, err := state.Open(dir, env); err != nil {
		t.Errorf("state file after the kill: %v", err)
	}
}

// logJournalOnFailure shows, for a failed kill point, what the killed run and the run after it
// carried out, and the killed run's last log lines.
func logJournalOnFailure(t *testing.T, killed killedRun, p, again *localstack.Proxy) {
	if !t.Failed() {
		return
	}
	var ops []string
	for i, c := range append(p.Journal(), again.Journal()...) {
		if i == killed.Carried {
			ops = append(ops, "| KILLED |")
		}
		ops = append(ops, c.Operation)
	}
	t.Logf("calls carried out: %v\nlast lines of the killed run:\n%s", ops, tail(killed.Stderr, 8))
}

// countMutating runs a fresh up and a down of a throw-away environment through a proxy and
// returns how many mutating calls each had carried out.
func countMutating(t *testing.T) (up, down int) {
	t.Helper()
	p, env, dir := startProxy(t), newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--no-wait").mustSucceed(t)
	up = p.MutatingCarriedOut()
	p.KillAfterMutating(0, nil) // resets the count
	tapctlAt(t, p.URL, dir, nil, "down", "--yes", "--env", env).mustSucceed(t)
	return up, p.MutatingCarriedOut()
}

// sweep runs one subtest per kill point, two at a time (go test's -parallel bounds them).
func sweep(t *testing.T, total int, run func(t *testing.T, k int)) {
	sweepPoints(t, crashPoints(total), total, run)
}

// sweepPoints is sweep over the kill points ks.
func sweepPoints(t *testing.T, ks []int, total int, run func(t *testing.T, k int)) {
	t.Logf("%d kill points of %d mutating calls (%s=%q)", len(ks), total, crashSweepVariable, os.Getenv(crashSweepVariable))
	for _, k := range ks {
		t.Run("k="+strconv.Itoa(k), func(t *testing.T) {
			t.Parallel()
			run(t, k)
		})
	}
}

// An up killed right after any of its mutating calls is finished by the next up: exactly the
// environment, one of everything, all of it tagged; nothing tapctl created lives on untagged.
func TestKilledUpIsFinishedByTheNextUp(t *testing.T) {
	total, _ := countMutating(t)
	sweep(t, total, func(t *testing.T, k int) {
		p, again, env, dir := startProxy(t), startProxy(t), newEnvName(t), t.TempDir()
		downAtCleanup(t, dir, env)
		killed := runKilledAfter(t, p, k, dir, "up", "--env", env, "--no-wait")
		assertStateReadable(t, dir, env)
		defer logJournalOnFailure(t, killed, p, again)
		tapctlAt(t, again.URL, dir, nil, "up", "--env", env, "--no-wait").mustSucceed(t)
		assertInventory(t, dir, env)
		assertCreatedAreTheInventory(t, append(p.Journal(), again.Journal()...), env)
	})
}

// A down killed right after any of its mutating calls is finished by the next down: nothing
// tagged with the environment is left, and nothing tapctl ever created for it lives on.
func TestKilledDownIsFinishedByTheNextDown(t *testing.T) {
	_, total := countMutating(t)
	sweep(t, total, func(t *testing.T, k int) {
		p, again, env, dir := startProxy(t), startProxy(t), newEnvName(t), t.TempDir()
		downAtCleanup(t, dir, env)
		tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--no-wait").mustSucceed(t)
		killDownAndFinish(t, p, again, k, dir, env)
	})
}

// killDownAndFinish kills a down of env through p after its k-th mutating call, runs it again
// through again, and checks that nothing of env is left: no resource, nothing either down
// created, no state file.
func killDownAndFinish(t *testing.T, p, again *localstack.Proxy, k int, dir, env string) {
	t.Helper()
	killed := runKilledAfter(t, p, k, dir, "down", "--yes", "--env", env)
	assertStateReadable(t, dir, env)
	defer logJournalOnFailure(t, killed, p, again)
	tapctlAt(t, again.URL, dir, nil, "down", "--yes", "--env", env).mustSucceed(t)
	if left := leftovers(t, env); len(left) != 0 {
		t.Errorf("after the second down, left: %v", left)
	}
	assertCreatedAreGone(t, append(p.Journal(), again.Journal()...))
	if _, err := os.Stat(fmt.Sprintf("%s/%s.json", dir, env)); !os.IsNotExist(err) {
		t.Errorf("state file remains after down: %v", err)
	}
}

// The CI sample holds the first and the last kill point and no gap wider than the spacing.
func TestCrashSampleIsEvenlySpread(t *testing.T) {
	t.Setenv(crashSweepVariable, "")
	ks := crashPoints(113)
	if ks[0] != 1 || ks[len(ks)-1] != 113 {
		t.Fatalf("sample %v lacks the first or the last kill point", ks)
	}
	for i := 1; i < len(ks); i++ {
		if gap := ks[i] - ks[i-1]; gap <= 0 || gap > crashSampleEvery {
			t.Fatalf("sample %v has a gap of %d", ks, gap)
		}
	}
	t.Setenv(crashSweepVariable, "full")
	if n := len(crashPoints(113)); n != 113 {
		t.Fatalf("full sweep has %d kill points, want 113", n)
	}
}
