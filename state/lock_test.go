package state

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func lockHolder(t *testing.T, path string) HolderInfo {
	t.Helper()
	raw, err := os.ReadFile(path)
	must(t, err)
	var h HolderInfo
	must(t, json.Unmarshal(raw, &h))
	return h
}

// flock conflicts between two open file descriptions even in one process, so the test can be
// both holder and contender.
func TestHeldLockFailsAtOnceNamingTheHolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	l, err := Acquire(dir, "pr1")
	must(t, err)
	assertMode(t, dir, 0o700)
	assertMode(t, filepath.Join(dir, "pr1.lock"), 0o600)

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
	if locked.Env != "pr1" || locked.Holder.PID != os.Getpid() || locked.Holder.Host != host || locked.Holder.Started.IsZero() {
		t.Errorf("LockedError = %+v", locked)
	}
	if other, err := Acquire(dir, "pr2"); err != nil {
		t.Errorf("another environment is blocked: %v", err)
	} else {
		must(t, other.Release())
	}

	must(t, l.Release())
	must(t, l.Release()) // twice is harmless
	l2, err := Acquire(dir, "pr1")
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	must(t, l2.Release())
}

func TestLockedErrorMessage(t *testing.T) {
	e := &LockedError{Env: "pr6906", Holder: HolderInfo{PID: 4242, Host: "build-7", Started: time.Date(2026, 11, 25, 4, 30, 0, 0, time.UTC)}}
	want := "environment pr6906 is in use by another tapctl (pid 4242 on host build-7, since 2026-11-25T04:30:00Z); wait for it to finish"
	if e.Error() != want {
		t.Errorf("Error() = %q\nwant      %q", e.Error(), want)
	}
	if msg := (&LockedError{Env: "pr1"}).Error(); !strings.Contains(msg, "in use by another tapctl") {
		t.Errorf("unknown holder: %q", msg)
	}
}

func TestReleaseRemovesOnlyItsOwnLockFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pr1.lock")
	l, err := Acquire(dir, "pr1")
	must(t, err)
	must(t, l.Release())
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("lock file left after Release: %v", err)
	}

	// The file names someone else (rewritten by hand, or a filesystem without flock): keep it.
	l, err = Acquire(dir, "pr1")
	must(t, err)
	foreign := `{"pid":1,"host":"elsewhere","started":"2026-11-25T04:30:00Z"}`
	must(t, os.WriteFile(path, []byte(foreign), 0o600))
	must(t, l.Release())
	if got, _ := os.ReadFile(path); string(got) != foreign {
		t.Errorf("Release removed or changed a lock file naming another holder: %q", got)
	}
}

// Without flock (a copied file, NFS) a pid that is not running holds nothing: the file is
// overwritten with this process.
func TestLockFileOfADeadProcessIsOverwritten(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pr1.lock")
	stale := `{"pid":2147483646,"host":"build-7","started":"2026-11-25T04:30:00Z","extra":"` + strings.Repeat("x", 200) + `"}`
	must(t, os.WriteFile(path, []byte(stale), 0o644))
	l, err := Acquire(dir, "pr1")
	if err != nil {
		t.Fatalf("Acquire over a stale lock file: %v", err)
	}
	defer l.Release()
	if h := lockHolder(t, path); h.PID != os.Getpid() {
		t.Errorf("lock file names %+v, want this process", h)
	}
	assertMode(t, path, 0o600)
}

const helperEnv = "TAPCTL_STATE_LOCK_HELPER_DIR"

// A helper process (this test binary again) takes the lock and is killed with SIGKILL: the
// kernel drops its flock, and the next Acquire takes the lock over.
func TestLockOfAKilledProcessIsTakenOver(t *testing.T) {
	if dir := os.Getenv(helperEnv); dir != "" {
		if _, err := Acquire(dir, "pr1"); err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(3)
		}
		os.Stdout.WriteString("locked\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockOfAKilledProcessIsTakenOver$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if line != "locked\n" {
			t.Fatalf("helper: %q", line)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("helper never took the lock")
	}

	var locked *LockedError
	if _, err := Acquire(dir, "pr1"); !errors.As(err, &locked) || locked.Holder.PID != cmd.Process.Pid {
		t.Fatalf("while the helper lives: %v", err)
	}
	must(t, cmd.Process.Signal(syscall.SIGKILL))
	cmd.Wait()
	l, err := Acquire(dir, "pr1")
	if err != nil {
		t.Fatalf("lock of the killed process was not taken over: %v", err)
	}
	if h := lockHolder(t, filepath.Join(dir, "pr1.lock")); h.PID != os.Getpid() {
		t.Errorf("lock file names %+v, want this process", h)
	}
	must(t, l.Release())
}

func TestUnwritableStateDirectory(t *testing.T) {
	t.Run("under a regular file", func(t *testing.T) {
		blocker := filepath.Join(t.TempDir(), "file")
		must(t, os.WriteFile(blocker, nil, 0o600))
		dir := filepath.Join(blocker, "state")
		_, err := Acquire(dir, "pr1")
		if err == nil || !strings.Contains(err.Error(), "state directory "+dir+" is not writable: ") {
			t.Fatalf("Acquire = %v, want 'state directory %s is not writable'", err, dir)
		}
	})
	t.Run("read-only with a lock file present", func(t *testing.T) {
		dir := t.TempDir()
		l, err := Acquire(dir, "pr1")
		must(t, err)
		foreign := `{"pid":1,"host":"elsewhere"}`
		must(t, os.WriteFile(filepath.Join(dir, "pr1.lock"), []byte(foreign), 0o600))
		must(t, l.Release()) // keeps the file, which names someone else
		must(t, os.Chmod(dir, 0o500))
		defer os.Chmod(dir, 0o700)
		if f, err := os.CreateTemp(dir, "probe"); err == nil {
			f.Close()
			os.Remove(f.Name())
			t.Skip("a read-only directory does not stop this user's writes (root)")
		}
		_, err = Acquire(dir, "pr1")
		if err == nil || !strings.Contains(err.Error(), "state directory "+dir+" is not writable") {
			t.Fatalf("Acquire = %v, want 'not writable'", err)
		}
	})
}

// A local lock file carries no lease: its holder's process is its lease.
func TestLocalLockFileHasNoLease(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir, "pr1")
	must(t, err)
	defer l.Release()
	raw, err := os.ReadFile(filepath.Join(dir, "pr1.lock"))
	must(t, err)
	if strings.Contains(string(raw), "expires") || strings.Contains(string(raw), "holder") {
		t.Errorf("local lock file %s", raw)
	}
}
