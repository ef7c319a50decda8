package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestRoundTripModeAndAtomicity(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s, err := Open(dir, "pr1")
	if err != nil {
		t.Fatal(err)
	}
	if s.Exists() {
		t.Fatal("a new store claims its file exists")
	}
	if err := s.Put("vpc", Resource{ID: "vpc-1", Attrs: map[string]string{"cidr": "10.0.0.0/16"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting("mesh", "service-connect"); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", info.Mode().Perm())
	}
	dinfo, _ := os.Stat(dir)
	if dinfo.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v, want 0700", dinfo.Mode().Perm())
	}
	again, err := Open(dir, "pr1")
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := again.Get("vpc"); !ok || r.ID != "vpc-1" || r.Attrs["cidr"] != "10.0.0.0/16" {
		t.Errorf("reopened vpc = %+v, %v", r, ok)
	}
	if again.Setting("mesh") != "service-connect" {
		t.Errorf("setting lost")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the state file (no temporary files)", len(entries))
	}
}

func TestIdenticalPutWritesNothing(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, "pr1")
	r := Resource{ID: "vpc-1"}
	if err := s.Put("vpc", r); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(s.Path())
	if err := s.Put("vpc", r); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("absent"); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(s.Path())
	if !os.SameFile(before, after) {
		t.Error("an identical Put replaced the file")
	}
}

func TestCorruptAndNewerFilesAreRefusedAndKept(t *testing.T) {
	cases := map[string]struct {
		content string
		want    error
	}{
		"truncated":    {`{"schemaVersion":1,"env":"pr1","resources":{"vpc":{"id":`, ErrCorrupt},
		"not json":     {"hello", ErrCorrupt},
		"no version":   {`{"env":"pr1"}`, ErrCorrupt},
		"wrong types":  {`{"schemaVersion":1,"env":"pr1","resources":[1,2]}`, ErrCorrupt},
		"empty id":     {`{"schemaVersion":1,"env":"pr1","resources":{"vpc":{"id":""}}}`, ErrCorrupt},
		"other env":    {`{"schemaVersion":1,"env":"pr2","resources":{}}`, ErrCorrupt},
		"newer schema": {`{"schemaVersion":7,"env":"pr1","resources":{}}`, ErrNewerSchema},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "pr1.json")
			if err := os.WriteFile(path, []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(dir, "pr1")
			if !errors.Is(err, c.want) {
				t.Fatalf("Open = %v, want %v", err, c.want)
			}
			got, _ := os.ReadFile(path)
			if string(got) != c.content {
				t.Error("Open changed the file")
			}
		})
	}
}

func TestFailedSaveKeepsTheOldFile(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, "pr1")
	if err := s.Put("vpc", Resource{ID: "vpc-1"}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(s.Path())
	// Replace the directory's place for temporary files with a regular file: saving must fail.
	s.path = filepath.Join(dir, "not-a-dir", "pr1.json")
	if err := os.WriteFile(filepath.Join(dir, "not-a-dir"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("subnet", Resource{ID: "subnet-1"}); err == nil {
		t.Fatal("Put succeeded where the file cannot be written")
	}
	if _, ok := s.Get("subnet"); ok {
		t.Error("memory holds a resource that was not saved")
	}
	after, _ := os.ReadFile(filepath.Join(dir, "pr1.json"))
	if string(before) != string(after) {
		t.Error("the old file changed")
	}
}

func TestConcurrentPutsAllLand(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, "pr1")
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := s.Put(fmt.Sprintf("k%02d", i), Resource{ID: fmt.Sprint(i)}); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	again, err := Open(dir, "pr1")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(again.Keys()); n != 20 {
		t.Errorf("reopened state holds %d keys, want 20", n)
	}
}

func TestRemove(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, "pr1")
	_ = s.Put("vpc", Resource{ID: "vpc-1"})
	if err := s.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Path()); !os.IsNotExist(err) {
		t.Error("file still there")
	}
	if err := s.Remove(); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}
