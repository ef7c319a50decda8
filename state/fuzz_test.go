package state

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen: whatever bytes sit in the state file, Open never panics, either accepts the file
// or refuses it as corrupt or newer, and never changes it. What it accepts survives a save.
func FuzzOpen(f *testing.F) {
	for _, seed := range []string{
		`{"schemaVersion":1,"env":"pr1","createdAt":"2026-11-25T04:30:00Z","updatedAt":"2026-11-25T04:31:00Z",` +
			`"settings":{"mesh":"none"},"resources":{"vpc":{"id":"vpc-1","attrs":{"cidr":"10.0.0.0/16"}},"alb":{"id":"a","arn":"arn:x"}}}` + "\n",
		`{"schemaVersion":1,"env":"pr1","resources":{"vpc":{"id":`, // truncated
		`{"schemaVersion":2,"env":"pr1","resources":{}}`,           // newer schema
		`{"schemaVersion":"1","env":"pr1"}`,                        // wrong types
		`{"schemaVersion":1,"env":"pr1","resources":[1,2]}`,
		`{"schemaVersion":1,"env":"pr1","settings":{"mesh":1}}`,
		`{"schemaVersion":1,"env":"pr1","createdAt":12}`,
		`{"schemaVersion":1,"env":"pr2"}`,
		`{"schemaVersion":1e400}`,
		`{"schemaVersion":-1}`,
		`{"schemaVersion":1,"env":"pr1","resources":{"":{"id":"x"},"vpc":null}}`,
		`{"schemaVersion":1,"env":"pr1"} trailing`,
		"[]", "null", "", "\xef\xbb\xbf{}", `{"SCHEMAVERSION":1,"ENV":"pr1"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "pr1.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, "pr1")
		if got, rerr := os.ReadFile(path); rerr != nil || string(got) != string(data) {
			t.Fatalf("Open modified the file (read error %v)", rerr)
		}
		if err != nil {
			if s != nil || !(errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNewerSchema)) {
				t.Fatalf("Open = %v, %v; want nil and ErrCorrupt or ErrNewerSchema", s, err)
			}
			return
		}
		for _, k := range s.Keys() {
			if r, _ := s.Get(k); k == "" || r.ID == "" {
				t.Fatalf("accepted a resource without key or id: %q", k)
			}
		}
		// Re-save what was accepted elsewhere: it must open again to the same content.
		dir2 := t.TempDir()
		raw, err := encode(s.data)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir2, "pr1.json"), raw, 0o600); err != nil {
			t.Fatal(err)
		}
		back, err := Open(dir2, "pr1")
		if err != nil {
			t.Fatalf("a file this tapctl accepted does not reopen after saving: %v\n%s", err, raw)
		}
		if !maps.Equal(back.data.Settings, s.data.Settings) ||
			!maps.EqualFunc(back.data.Resources, s.data.Resources, Resource.equal) {
			t.Fatalf("content changed through a save:\n%s", raw)
		}
	})
}
