package localstack

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
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
