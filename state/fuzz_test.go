package state

import (
	"os"
	"path/filepath"
	"testing"
)

func FuzzOpen(f *testing.F) {
	for _, seed := range []string{
		`{"schemaVersion":1,"env":"pr1","resources":{"vpc":{"id":"vpc-1"}}}`,
		`{"schemaVersion":1,"env":"pr1","resources":{"vpc":{"id":`,
		`{"schemaVersion":2,"env":"pr1"}`,
		`{"schemaVersion":"1"}`,
		`[]`, `null`, ``, `{"schemaVersion":1,"env":"pr1","settings":{"a":1}}`,
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
		if err == nil {
			for _, k := range s.Keys() {
				if r, _ := s.Get(k); r.ID == "" {
					t.Fatalf("accepted a resource without id: %q", k)
				}
			}
		}
		got, _ := os.ReadFile(path)
		if string(got) != string(data) {
			t.Fatal("Open modified the file")
		}
	})
}
