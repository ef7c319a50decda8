package state

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// target is a file outside the state directory that a planted link points at; unchanged reports
// whether it still has exactly the bytes, mode and modification time it had.
type target struct {
	path string
	raw  []byte
	info os.FileInfo
}

func newTarget(t *testing.T, content string) target {
	t.Helper()
	path := filepath.Join(t.TempDir(), "precious")
	must(t, os.WriteFile(path, []byte(content), 0o644))
	// An old mtime, so a write within the same clock tick would still show.
	old := time.Now().Add(-time.Hour)
	must(t, os.Chtimes(path, old, old))
	info, err := os.Stat(path)
	must(t, err)
	return target{path: path, raw: []byte(content), info: info}
}

func (tg target) assertUnchanged(t *testing.T) {
	t.Helper()
	raw, err := os.ReadFile(tg.path)
	must(t, err)
	info, err := os.Stat(tg.path)
	must(t, err)
	if !bytes.Equal(raw, tg.raw) || info.Mode() != tg.info.Mode() || !info.ModTime().Equal(tg.info.ModTime()) {
		t.Errorf("the link's target %s changed: %q, %v, %v", tg.path, raw, info.Mode(), info.ModTime())
	}
}

func assertSymlinkRefusal(t *testing.T, err error, path string) {
	t.Helper()
	if !errors.Is(err, ErrSymlink) {
		t.Fatalf("err = %v, want ErrSymlink", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, path) || !strings.Contains(msg, "symbolic link") || !strings.Contains(msg, "will not follow") || strings.Contains(msg, "\n") {
		t.Errorf("refusal %q: want one line naming %s, saying it is a symbolic link tapctl will not follow", msg, path)
	}
}

// A valid state file behind the link: following it would succeed, so only the refusal stops it.
const validState = `{"schemaVersion":1,"env":"pr1","settings":{},"resources":{"vpc":{"id":"vpc-1"}}}` + "\n"

func TestSymlinkedStateFileIsRefusedNotFollowed(t *testing.T) {
	t.Run("to a state file", func(t *testing.T) {
		dir, tg := t.TempDir(), newTarget(t, validState)
		link := filepath.Join(dir, "pr1.json")
		must(t, os.Symlink(tg.path, link))
		_, err := Open(dir, "pr1")
		assertSymlinkRefusal(t, err, link)
		tg.assertUnchanged(t)
	})
	t.Run("dangling", func(t *testing.T) {
		dir := t.TempDir()
		link, missing := filepath.Join(dir, "pr1.json"), filepath.Join(t.TempDir(), "missing")
		must(t, os.Symlink(missing, link))
		_, err := Open(dir, "pr1")
		assertSymlinkRefusal(t, err, link)
		if _, err := os.Lstat(missing); !os.IsNotExist(err) {
			t.Errorf("the dangling link's target was created: %v", err)
		}
	})
	// A link planted after Open: the next save refuses it instead of replacing or following it.
	t.Run("planted while running", func(t *testing.T) {
		dir, tg := t.TempDir(), newTarget(t, validState)
		s := mustOpen(t, dir, "pr1")
		must(t, s.Put("vpc", Resource{ID: "vpc-1"}))
		must(t, os.Remove(s.Path()))
		must(t, os.Symlink(tg.path, s.Path()))
		assertSymlinkRefusal(t, s.Put("subnet", Resource{ID: "subnet-1"}), s.Path())
		assertSymlinkRefusal(t, s.Remove(), s.Path())
		tg.assertUnchanged(t)
		if info, err := os.Lstat(s.Path()); err != nil || info.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the link itself was replaced or removed: %v", err)
		}
	})
}

func TestSymlinkedLockFileIsRefusedNotFollowed(t *testing.T) {
	t.Run("to a file", func(t *testing.T) {
		dir, tg := t.TempDir(), newTarget(t, "keep me\n")
		link := filepath.Join(dir, "pr1.lock")
		must(t, os.Symlink(tg.path, link))
		_, err := Acquire(dir, "pr1")
		assertSymlinkRefusal(t, err, link)
		tg.assertUnchanged(t)
		if got := entries(t, dir); !slices.Equal(got, []string{"pr1.lock"}) {
			t.Errorf("a refused Acquire left %v, want only the link", got)
		}
	})
	t.Run("dangling", func(t *testing.T) {
		dir := t.TempDir()
		link, missing := filepath.Join(dir, "pr1.lock"), filepath.Join(t.TempDir(), "missing")
		must(t, os.Symlink(missing, link))
		_, err := Acquire(dir, "pr1")
		assertSymlinkRefusal(t, err, link)
		if _, err := os.Lstat(missing); !os.IsNotExist(err) {
			t.Errorf("the dangling link's target was created: %v", err)
		}
	})
}

// Temporary files a killed run left (a save cut before its rename, a probe cut mid-write) are
// removed by the next holder of the environment's lock, and nothing else is.
func TestAcquireRemovesLeftoversOfItsEnvironmentOnly(t *testing.T) {
	dir := t.TempDir()
	outside := newTarget(t, "outside\n")
	write := func(name string) {
		must(t, os.WriteFile(filepath.Join(dir, name), []byte("partial"), 0o600))
	}
	ours := []string{".pr1.json.tmp-123456", ".pr1.write-probe-42"}
	for _, name := range ours {
		write(name)
	}
	kept := []string{
		"pr1.json",                // the state file itself
		".pr2.json.tmp-77",        // another environment's, maybe being written right now
		".pr2.write-probe-78",     //
		".pr1-x.json.tmp-79",      // an environment whose name starts like ours
		".pr1.json.tmp-notdigits", // not a name os.CreateTemp makes
		".write-probe-80",         // no environment: whose it is cannot be known
		"notes.txt",               //
		".pr1.json.tmp-81",        // a link named like ours: not a regular file
		".pr1.write-probe-82",     // a directory named like ours
	}
	for _, name := range kept[:7] {
		write(name)
	}
	must(t, os.Symlink(outside.path, filepath.Join(dir, ".pr1.json.tmp-81")))
	must(t, os.Mkdir(filepath.Join(dir, ".pr1.write-probe-82"), 0o700))

	l, err := Acquire(dir, "pr1")
	must(t, err)
	defer l.Release()

	removed := l.Leftovers()
	slices.Sort(removed)
	if !slices.Equal(removed, ours) {
		t.Errorf("Leftovers() = %v, want %v", removed, ours)
	}
	got := entries(t, dir)
	want := append([]string{"pr1.lock"}, kept...)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("directory holds %v, want %v", got, want)
	}
	outside.assertUnchanged(t)
}

// The patterns the cleanup knows are the ones the writers use.
func TestLeftoverPatternsMatchTheWriters(t *testing.T) {
	dir := t.TempDir()
	for _, pattern := range []string{tempPattern(filepath.Base(filepath.Join(dir, stateFileName("pr1")))), probePattern("pr1")} {
		f, err := os.CreateTemp(dir, pattern)
		must(t, err)
		f.Close()
		if name := filepath.Base(f.Name()); !isTempOf(name, "pr1") || isTempOf(name, "pr2") {
			t.Errorf("%s (from %s): isTempOf pr1 = %v, pr2 = %v", name, pattern, isTempOf(name, "pr1"), isTempOf(name, "pr2"))
		}
	}
}
