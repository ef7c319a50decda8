package localstack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapctl/tapctl/state"
)

// Each bad input gives one line on stderr, a non-zero exit, and no AWS call at all.
func assertRefused(t *testing.T, r result, want string) {
	t.Helper()
	if r.Code == 0 {
		t.Fatalf("exit 0, want a failure mentioning %q", want)
	}
	msg := strings.TrimSpace(r.Stderr)
	if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, want) {
		t.Errorf("stderr = %q, want one line containing %q", msg, want)
	}
	if strings.Contains(msg, "goroutine ") || strings.Contains(msg, "panic") {
		t.Errorf("stderr holds a stack trace: %q", msg)
	}
	if m, rd := r.Calls.Totals(); m+rd != 0 {
		t.Errorf("made %d mutating and %d read calls before refusing", m, rd)
	}
}

// commandArgs is a command as a script types it: down confirmed with --yes.
func commandArgs(command string) []string {
	if command == "down" {
		return []string{"down", "--yes"}
	}
	return []string{command}
}

func TestBadEnvIsRefusedBeforeAnyCall(t *testing.T) {
	dir := t.TempDir()
	for env, want := range map[string]string{
		"PR6906":          "lowercase",
		"9lives":          "start with a lowercase letter",
		"abcdefghijklmno": "too long",
		"pr_1":            "hyphens",
	} {
		for _, command := range []string{"up", "down", "status"} {
			r := tapctl(t, dir, append(commandArgs(command), "--env", env)...)
			assertRefused(t, r, want)
			if r.Code != 2 {
				t.Errorf("%s --env %s exit %d, want 2", command, env, r.Code)
			}
		}
	}
	assertRefused(t, tapctl(t, dir, "up"), "env")
	assertRefused(t, tapctl(t, dir, "--region", "moon", "up", "--env", "ok"), "unknown region")
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("refused runs left files in the state directory: %v", entries)
	}
}

func TestCorruptStateFileIsReportedAndKept(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	path := filepath.Join(dir, env+".json")
	garbage := []byte(`{"schemaVersion":1,"env":"` + env + `","resources":{"vpc":`)
	must(t, os.WriteFile(path, garbage, 0o600))
	for _, command := range []string{"up", "down"} {
		assertRefused(t, tapctl(t, dir, append(commandArgs(command), "--env", env)...), "corrupt")
		got, err := os.ReadFile(path)
		must(t, err)
		if string(got) != string(garbage) {
			t.Fatalf("%s changed the corrupt state file", command)
		}
	}
	newer := []byte(`{"schemaVersion":99,"env":"` + env + `","resources":{}}`)
	must(t, os.WriteFile(path, newer, 0o600))
	assertRefused(t, tapctl(t, dir, "up", "--env", env), "newer")
	got, _ := os.ReadFile(path)
	if string(got) != string(newer) {
		t.Fatal("up changed a state file of a newer schema")
	}
}

func TestHeldLockIsReportedWithItsHolder(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	lock, err := state.Acquire(dir, env)
	must(t, err)
	defer lock.Release()
	for _, command := range []string{"up", "down"} {
		r := tapctl(t, dir, append(commandArgs(command), "--env", env)...)
		assertRefused(t, r, "in use by another tapctl")
		host, _ := os.Hostname()
		if !strings.Contains(r.Stderr, host) || !strings.Contains(r.Stderr, "pid") {
			t.Errorf("lock message does not name the holder: %q", r.Stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, env+".json")); !os.IsNotExist(err) {
		t.Errorf("a refused run created the state file")
	}
}

// An environment lives in one region: a run aimed at another is refused before any change.
func TestRunInAnotherRegionIsRefused(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	st, err := state.Open(dir, env)
	must(t, err)
	must(t, st.SetSetting("region", "eu-west-1"))
	for _, command := range []string{"up", "down"} {
		r := tapctl(t, dir, append([]string{"--region", "us-east-1"}, append(commandArgs(command), "--env", env)...)...)
		if r.Code == 0 || !strings.Contains(r.Stderr, "was created in eu-west-1") {
			t.Errorf("%s in another region: exit %d, %q", command, r.Code, r.Stderr)
		}
		if m, rd := r.Calls.Totals(); m+rd != 0 {
			t.Errorf("%s made %d calls before refusing", command, m+rd)
		}
	}
}
