package state

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSecondAcquireFailsNamingTheHolder(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir, "pr1")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = Acquire(dir, "pr1")
	var locked *LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("second Acquire = %v, want *LockedError", err)
	}
	if time.Since(start) > time.Second {
		t.Error("second Acquire waited instead of failing at once")
	}
	host, _ := os.Hostname()
	if locked.Holder.PID != os.Getpid() || locked.Holder.Host != host || locked.Holder.Started.IsZero() {
		t.Errorf("holder = %+v", locked.Holder)
	}
	if !strings.Contains(err.Error(), "pid ") {
		t.Errorf("message %q does not name the pid", err)
	}
	if other, err := Acquire(dir, "pr2"); err != nil {
		t.Errorf("another environment is blocked: %v", err)
	} else {
		other.Release()
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(dir, "pr1")
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l2.Release()
}

// A helper process takes the lock and is killed; its lock must be taken over.
func TestLockOfAKilledProcessIsTakenOver(t *testing.T) {
	if dir := os.Getenv("TAPCTL_LOCK_HELPER_DIR"); dir != "" {
		if _, err := Acquire(dir, "pr1"); err != nil {
			os.Exit(3)
		}
		os.WriteFile(filepath.Join(dir, "ready"), nil, 0o600)
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockOfAKilledProcessIsTakenOver$")
	cmd.Env = append(os.Environ(), "TAPCTL_LOCK_HELPER_DIR="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("helper never took the lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var locked *LockedError
	if _, err := Acquire(dir, "pr1"); !errors.As(err, &locked) || locked.Holder.PID != cmd.Process.Pid {
		t.Fatalf("while the helper lives: %v", err)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	l, err := Acquire(dir, "pr1")
	if err != nil {
		t.Fatalf("lock of the killed process was not taken over: %v", err)
	}
	l.Release()
}

func TestUnwritableStateDirectory(t *testing.T) {
	parent := t.TempDir()
	blocker := filepath.Join(parent, "file")
	os.WriteFile(blocker, nil, 0o600)
	_, err := Acquire(filepath.Join(blocker, "state"), "pr1")
	if err == nil || !strings.Contains(err.Error(), "not writable") {
		t.Fatalf("Acquire under a regular file = %v, want 'not writable'", err)
	}
}
