package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func mustOpen(t *testing.T, dir, env string) *Store {
	t.Helper()
	s, err := Open(dir, env)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	list, err := os.ReadDir(dir)
	must(t, err)
	var names []string
	for _, e := range list {
		names = append(names, e.Name())
	}
	return names
}

func TestOpenMissingFileIsEmptyAndWritesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s := mustOpen(t, dir, "pr1")
	if s.Exists() || len(s.Keys()) != 0 || s.Setting("mesh") != "" {
		t.Fatalf("new store not empty: exists=%v keys=%v", s.Exists(), s.Keys())
	}
	if s.Path() != filepath.Join(dir, "pr1.json") {
		t.Errorf("Path = %s", s.Path())
	}
	must(t, s.Delete("vpc"))
	must(t, s.SetSetting("mesh", ""))
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("no-op calls created %s: %v", dir, err)
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, "pr6906")
	must(t, s.Put("vpc", Resource{ID: "vpc-1", Attrs: map[string]string{"cidr": "10.0.0.0/16"}}))
	must(t, s.Put("subnet/b", Resource{ID: "subnet-b"}))
	must(t, s.Put("subnet/a", Resource{ID: "subnet-a", ARN: "arn:aws:ec2:::subnet/subnet-a"}))
	must(t, s.Put("cluster", Resource{ID: "c"}))
	must(t, s.SetSetting("mesh", "service-connect"))
	must(t, s.Delete("cluster"))
	if !s.Exists() {
		t.Fatal("Exists is false after saving")
	}

	again := mustOpen(t, dir, "pr6906")
	if got := again.Keys(); !slices.Equal(got, []string{"subnet/a", "subnet/b", "vpc"}) {
		t.Errorf("Keys = %v", got)
	}
	if got := again.KeysWithPrefix("subnet/"); !slices.Equal(got, []string{"subnet/a", "subnet/b"}) {
		t.Errorf("KeysWithPrefix = %v", got)
	}
	if r, ok := again.Get("vpc"); !ok || r.ID != "vpc-1" || r.Attrs["cidr"] != "10.0.0.0/16" {
		t.Errorf("vpc = %+v, %v", r, ok)
	}
	if r, _ := again.Get("subnet/a"); r.ARN != "arn:aws:ec2:::subnet/subnet-a" {
		t.Errorf("arn lost: %+v", r)
	}
	if _, ok := again.Get("cluster"); ok {
		t.Error("deleted key came back")
	}
	if again.Setting("mesh") != "service-connect" {
		t.Errorf("setting = %q", again.Setting("mesh"))
	}
	if again.data.CreatedAt.IsZero() || again.data.UpdatedAt.Before(again.data.CreatedAt) {
		t.Errorf("timestamps %v %v", again.data.CreatedAt, again.data.UpdatedAt)
	}
}

func TestGetReturnsACopy(t *testing.T) {
	s := mustOpen(t, t.TempDir(), "pr1")
	attrs := map[string]string{"k": "v"}
	must(t, s.Put("vpc", Resource{ID: "vpc-1", Attrs: attrs}))
	attrs["k"] = "changed by the caller after Put"
	r, _ := s.Get("vpc")
	r.Attrs["k"] = "changed by the caller after Get"
	if r, _ := s.Get("vpc"); r.Attrs["k"] != "v" {
		t.Errorf("stored attrs changed through a caller's map: %v", r.Attrs)
	}
}

func TestFileAndDirectoryModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "state")
	s := mustOpen(t, dir, "pr1")
	must(t, s.Put("vpc", Resource{ID: "vpc-1"}))
	assertMode(t, dir, 0o700)
	assertMode(t, s.Path(), 0o600)

	// A file someone made readable by others is tightened on the next save.
	must(t, os.Chmod(s.Path(), 0o644))
	s = mustOpen(t, dir, "pr1")
	must(t, s.Put("igw", Resource{ID: "igw-1"}))
	assertMode(t, s.Path(), 0o600)
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	info, err := os.Stat(path)
	must(t, err)
	if info.Mode().Perm() != want {
		t.Errorf("%s has mode %v, want %v", path, info.Mode().Perm(), want)
	}
}

func TestNoChangeWritesNothing(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, "pr1")
	must(t, s.Put("vpc", Resource{ID: "vpc-1", Attrs: map[string]string{"cidr": "10.0.0.0/16"}}))
	must(t, s.Put("igw", Resource{ID: "igw-1"}))
	must(t, s.SetSetting("mesh", "none"))
	before, err := os.Stat(s.Path())
	must(t, err)
	time.Sleep(10 * time.Millisecond) // so that a rewrite would show in the mtime too

	must(t, s.Put("vpc", Resource{ID: "vpc-1", Attrs: map[string]string{"cidr": "10.0.0.0/16"}}))
	must(t, s.Put("igw", Resource{ID: "igw-1", Attrs: map[string]string{}})) // empty attrs = none
	must(t, s.Delete("absent"))
	must(t, s.SetSetting("mesh", "none"))
	must(t, s.SetSetting("unset", ""))
	// A fresh Store of the same file, as on a no-change run.
	s2 := mustOpen(t, dir, "pr1")
	must(t, s2.Put("vpc", Resource{ID: "vpc-1", Attrs: map[string]string{"cidr": "10.0.0.0/16"}}))

	after, err := os.Stat(s.Path())
	must(t, err)
	if !os.SameFile(before, after) || !before.ModTime().Equal(after.ModTime()) {
		t.Error("a no-change call rewrote the file")
	}
	if got := entries(t, dir); !slices.Equal(got, []string{"pr1.json"}) {
		t.Errorf("directory holds %v", got)
	}
}

// Each case leaves a file Open must refuse; the file must come out of every attempt unchanged.
func TestUnreadableFilesAreRefusedAndKept(t *testing.T) {
	cases := []struct {
		name, content string
		want          error
		says          []string
	}{
		{"truncated", `{"schemaVersion":1,"env":"pr1","resources":{"vpc":{"id":`, ErrCorrupt, nil},
		{"not json", "hello", ErrCorrupt, nil},
		{"empty", "", ErrCorrupt, nil},
		{"trailing garbage", `{"schemaVersion":1,"env":"pr1"}}`, ErrCorrupt, nil},
		{"no version", `{"env":"pr1"}`, ErrCorrupt, nil},
		{"version zero", `{"schemaVersion":0,"env":"pr1"}`, ErrCorrupt, nil},
		{"version as string", `{"schemaVersion":"1","env":"pr1"}`, ErrCorrupt, nil},
		{"resources as list", `{"schemaVersion":1,"env":"pr1","resources":[1,2]}`, ErrCorrupt, nil},
		{"numeric setting", `{"schemaVersion":1,"env":"pr1","settings":{"mesh":1}}`, ErrCorrupt, nil},
		{"empty id", `{"schemaVersion":1,"env":"pr1","resources":{"vpc":{"id":""}}}`, ErrCorrupt, nil},
		{"null resource", `{"schemaVersion":1,"env":"pr1","resources":{"vpc":null}}`, ErrCorrupt, nil},
		{"other environment", `{"schemaVersion":1,"env":"pr2","resources":{}}`, ErrCorrupt, []string{`"pr2"`, `"pr1"`}},
		{"newer schema", `{"schemaVersion":7,"env":"pr1","resources":{}}`, ErrNewerSchema,
			[]string{"written by a newer tapctl", "schema version 7", "version 1"}},
		{"newer schema, other layout", `{"schemaVersion":2,"resources":[{"key":"vpc"}]}`, ErrNewerSchema, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "pr1.json")
			must(t, os.WriteFile(path, []byte(c.content), 0o640))
			before, _ := os.Stat(path)
			check := func(when string) {
				t.Helper()
				got, err := os.ReadFile(path)
				after, _ := os.Stat(path)
				if err != nil || string(got) != c.content || !os.SameFile(before, after) || after.Mode() != before.Mode() {
					t.Fatalf("%s: the file changed (err %v)", when, err)
				}
			}
			for i := range 2 {
				_, err := Open(dir, "pr1")
				if !errors.Is(err, c.want) {
					t.Fatalf("Open = %v, want %v", err, c.want)
				}
				msg := err.Error()
				if !strings.Contains(msg, path) {
					t.Errorf("message does not name the file: %s", msg)
				}
				if c.want == ErrCorrupt && !strings.Contains(msg, "fix or move it away; tapctl will not overwrite it") {
					t.Errorf("message does not say what to do: %s", msg)
				}
				for _, s := range c.says {
					if !strings.Contains(msg, s) {
						t.Errorf("message lacks %q: %s", s, msg)
					}
				}
				check(fmt.Sprintf("after Open #%d", i+1))
			}
			// What a refused run does next: take and drop the lock, then give up.
			l, err := Acquire(dir, "pr1")
			must(t, err)
			must(t, l.Release())
			check("after the lock was taken and released")
			if got := entries(t, dir); !slices.Equal(got, []string{"pr1.json"}) {
				t.Errorf("directory holds %v", got)
			}
		})
	}
}

// A file replaced by hand (or by a tapctl that ignored the lock) while a Store is open is not
// overwritten or removed by that Store.
func TestFileChangedBehindTheStoreIsKept(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, "pr1")
	must(t, s.Put("vpc", Resource{ID: "vpc-1"}))
	edited := []byte(`{"schemaVersion":1,"env":"pr1","resources":{"vpc":{"id":"vpc-by-hand"}}}` + "\n")
	must(t, os.WriteFile(s.Path(), edited, 0o600))
	ops := map[string]func() error{
		"Put":        func() error { return s.Put("igw", Resource{ID: "igw-1"}) },
		"Delete":     func() error { return s.Delete("vpc") },
		"SetSetting": func() error { return s.SetSetting("mesh", "none") },
		"Remove":     s.Remove,
	}
	for name, op := range ops {
		if err := op(); !errors.Is(err, ErrChanged) {
			t.Errorf("%s = %v, want ErrChanged", name, err)
		}
		if got, _ := os.ReadFile(s.Path()); string(got) != string(edited) {
			t.Fatalf("%s changed the file", name)
		}
	}

	// Likewise a file that appeared after a Store found none.
	dir2 := t.TempDir()
	fresh := mustOpen(t, dir2, "pr1")
	must(t, os.WriteFile(fresh.Path(), edited, 0o600))
	if err := fresh.Put("vpc", Resource{ID: "vpc-2"}); !errors.Is(err, ErrChanged) {
		t.Errorf("Put over a file that appeared = %v", err)
	}
}

func TestConcurrentPutsAllLand(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, "pr1")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := s.Put(fmt.Sprintf("k%02d", i), Resource{ID: fmt.Sprint("id-", i), Attrs: map[string]string{"n": fmt.Sprint(i)}}); err != nil {
				t.Error(err)
			}
		}()
		go func() { // readers alongside, for the race detector
			defer wg.Done()
			s.Get(fmt.Sprintf("k%02d", i))
			s.KeysWithPrefix("k0")
		}()
	}
	wg.Wait()
	again := mustOpen(t, dir, "pr1")
	if n := len(again.Keys()); n != 20 {
		t.Fatalf("reopened state holds %d keys, want 20", n)
	}
	for i := range 20 {
		if r, _ := again.Get(fmt.Sprintf("k%02d", i)); r.ID != fmt.Sprint("id-", i) || r.Attrs["n"] != fmt.Sprint(i) {
			t.Errorf("k%02d = %+v", i, r)
		}
	}
	if got := entries(t, dir); !slices.Equal(got, []string{"pr1.json"}) {
		t.Errorf("directory holds %v", got)
	}
}

func TestRemove(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, "pr1")
	must(t, s.Put("vpc", Resource{ID: "vpc-1"}))
	must(t, s.SetSetting("mesh", "none"))
	must(t, s.Remove())
	if s.Exists() || len(s.Keys()) != 0 || s.Setting("mesh") != "" {
		t.Error("Remove left the file or the memory of it")
	}
	must(t, s.Remove()) // missing is fine
	must(t, s.Put("vpc", Resource{ID: "vpc-2"}))
	if again := mustOpen(t, dir, "pr1"); !slices.Equal(again.Keys(), []string{"vpc"}) {
		t.Errorf("after Remove and Put: %v", again.Keys())
	}
}

func TestBadInputsAreRefused(t *testing.T) {
	dir := t.TempDir()
	for _, env := range []string{"", ".", "..", "a/b", `a\b`} {
		if _, err := Open(dir, env); err == nil {
			t.Errorf("Open(%q) succeeded", env)
		}
		if _, err := Acquire(dir, env); err == nil {
			t.Errorf("Acquire(%q) succeeded", env)
		}
	}
	s := mustOpen(t, dir, "pr1")
	if s.Put("", Resource{ID: "x"}) == nil || s.Put("vpc", Resource{}) == nil {
		t.Error("Put accepted an empty key or id")
	}
	if s.Exists() {
		t.Error("a refused Put wrote the file")
	}
}
