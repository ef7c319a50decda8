package scenarios

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// A state directory tapctl cannot write to, or a disk with no room, stops up and down with one
// line before the first AWS call: finding out after creating something would leave it unrecorded.

// smallFilesystem mounts a tmpfs of size bytes on a new directory (read-only when asked), or
// skips the test: mounting needs root (CAP_SYS_ADMIN).
func smallFilesystem(t *testing.T, size string, readOnly bool) string {
	t.Helper()
	dir := t.TempDir()
	var flags uintptr
	if readOnly {
		flags = syscall.MS_RDONLY
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", flags, "size="+size+",mode=0700"); err != nil {
		t.Skipf("cannot mount a small tmpfs here (%v): needs root", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
	return dir
}

// fill writes a file into dir until only about free bytes are left on its filesystem.
func fill(t *testing.T, dir string, free int64) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	must(t, err)
	defer f.Close()
	block := make([]byte, 4096)
	for {
		var st syscall.Statfs_t
		must(t, syscall.Statfs(dir, &st))
		if int64(st.Bavail)*st.Bsize <= free {
			return
		}
		if _, err := f.Write(block); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return
			}
			t.Fatal(err)
		}
	}
}

func assertRefusedBeforeAnyCall(t *testing.T, dir, want string) {
	t.Helper()
	env := newEnvName(t)
	for _, command := range []string{"up", "down"} {
		assertRefused(t, tapctl(t, dir, append(commandArgs(command), "--env", env)...), want)
	}
	if _, err := os.Stat(filepath.Join(dir, env+".json")); err == nil {
		t.Error("a refused run wrote a state file")
	}
}

func TestUnwritableStateDirectoryFailsBeforeAnyCall(t *testing.T) {
	t.Run("path under a regular file", func(t *testing.T) {
		blocker := filepath.Join(t.TempDir(), "file")
		must(t, os.WriteFile(blocker, nil, 0o600))
		assertRefusedBeforeAnyCall(t, filepath.Join(blocker, "state"), "is not writable")
	})
	t.Run("read-only directory", func(t *testing.T) {
		dir := t.TempDir()
		must(t, os.Chmod(dir, 0o500))
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
		if f, err := os.CreateTemp(dir, "probe"); err == nil { // root ignores the mode
			f.Close()
			os.Remove(f.Name())
			dir = smallFilesystem(t, "1m", true)
		}
		assertRefusedBeforeAnyCall(t, dir, "is not writable")
	})
}

func TestFullDiskFailsBeforeAnyCall(t *testing.T) {
	t.Run("no room at all", func(t *testing.T) {
		dir := smallFilesystem(t, "256k", false)
		fill(t, dir, 0)
		assertRefusedBeforeAnyCall(t, dir, "no space left on device")
	})
	// Room for the lock file but not for a state file of a whole environment: the disk would
	// fill up after the first create.
	t.Run("almost full", func(t *testing.T) {
		dir := smallFilesystem(t, "256k", false)
		fill(t, dir, 12<<10)
		assertRefusedBeforeAnyCall(t, dir, "no space left on device")
	})
}

// A symbolic link at the state file's path is refused with one line before any AWS call, by a
// command that changes the environment (it takes the lock first) and by one that only reads;
// nothing is written through the link and its target stays as it was.
func TestSymlinkedStateFileIsRefusedBeforeAnyCall(t *testing.T) {
	var calls atomic.Int64
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer endpoint.Close()
	env := append(noProfile(t), "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_REGION=us-east-1")

	// A valid state file of the environment, elsewhere: following the link would work.
	target := filepath.Join(t.TempDir(), "elsewhere.json")
	content := []byte(`{"schemaVersion":1,"env":"pr1","settings":{},"resources":{"vpc":{"id":"vpc-0123"}}}` + "\n")
	must(t, os.WriteFile(target, content, 0o644))
	old := time.Now().Add(-time.Hour)
	must(t, os.Chtimes(target, old, old))

	dir := t.TempDir()
	link := filepath.Join(dir, "pr1.json")
	must(t, os.Symlink(target, link))
	for _, command := range [][]string{{"up", "--no-wait"}, {"status"}} {
		args := append([]string{"--endpoint", endpoint.URL, "--state-dir", dir, "--log-format", "json", command[0], "--env", "pr1"}, command[1:]...)
		code, _, stderr := runBinary(t, env, args...)
		msg := strings.TrimSpace(stderr)
		if code != 1 || strings.Contains(msg, "\n") || !strings.Contains(msg, link) || !strings.Contains(msg, "is a symbolic link") || !strings.Contains(msg, "will not follow") {
			t.Errorf("%s: exit %d, stderr %q: want exit 1 and one line naming %s as a symbolic link tapctl will not follow", command[0], code, msg, link)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the endpoint got %d requests, want none", n)
	}
	raw, err := os.ReadFile(target)
	must(t, err)
	info, err := os.Stat(target)
	must(t, err)
	if !bytes.Equal(raw, content) || info.Mode().Perm() != 0o644 || !info.ModTime().Equal(old) {
		t.Errorf("the link's target changed: %q, mode %v, mtime %v", raw, info.Mode().Perm(), info.ModTime())
	}
	if names := dirNames(t, dir); len(names) != 1 || names[0] != "pr1.json" {
		t.Errorf("state directory holds %v, want only the link", names)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link itself was replaced: %v", err)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	must(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
