package state

import (
	"bytes"
	"os"
	"testing"
)

func TestScratchNeverTouchesTheFile(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, "e1")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("vpc", Resource{ID: "vpc-1"}); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	sc := s.Scratch()
	if r, ok := sc.Get("vpc"); !ok || r.ID != "vpc-1" {
		t.Fatalf("scratch does not start from the store: %+v", r)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(sc.Put("subnets", Resource{ID: "subnet-1"}))
	must(sc.SetSetting("mesh", "none"))
	must(sc.Delete("vpc"))
	if _, ok := sc.Get("subnets"); !ok {
		t.Fatal("scratch lost its own change")
	}
	must(sc.Remove())
	after, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatalf("the file is gone: %v", err)
	}
	if !bytes.Equal(before, after) {
		t.Fatalf("the file changed:\n%s\n%s", before, after)
	}
	if _, ok := s.Get("subnets"); ok {
		t.Fatal("a scratch change reached the store")
	}
}
