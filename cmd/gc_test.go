package cmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tapctl/tapctl/inventory"
)

func TestGCChoose(t *testing.T) {
	now := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	envs := []inventory.Environment{
		{Name: "expired", Expires: at(-time.Hour)},
		{Name: "due", Expires: at(0)},
		{Name: "later", Expires: at(time.Hour)},
		{Name: "forever"},
		{Name: "kept", Expires: at(-time.Hour)},
	}
	decisions := func(keep map[string]bool) map[string]string {
		candidates, skipped := gcChoose(envs, keep, now)
		out := map[string]string{}
		for _, c := range candidates {
			out[c.env.Name] = "delete: " + c.reason
			if c.byExpiry != (keep == nil) {
				t.Errorf("%s: byExpiry %v with keep %v", c.env.Name, c.byExpiry, keep)
			}
		}
		for _, r := range skipped {
			out[r.Env] = r.Action + ": " + r.Reason
		}
		return out
	}
	if got, want := decisions(nil), map[string]string{
		"expired": "delete: expired 2026-12-02 02:00:00 UTC",
		"due":     "delete: expired 2026-12-02 03:00:00 UTC",
		"later":   "skipped: not expired: expires 2026-12-02 04:00:00 UTC",
		"forever": "skipped: no expiry (up --ttl sets one)",
		"kept":    "delete: expired 2026-12-02 02:00:00 UTC",
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("expiry only:\n got %v\nwant %v", got, want)
	}
	if got, want := decisions(map[string]bool{"kept": true, "later": true}), map[string]string{
		"expired": "delete: not kept; expired 2026-12-02 02:00:00 UTC",
		"due":     "delete: not kept; expired 2026-12-02 03:00:00 UTC",
		"later":   "skipped: kept",
		"forever": "delete: not kept",
		"kept":    "skipped: kept",
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("with a keep list:\n got %v\nwant %v", got, want)
	}
	// An empty keep list (no open pull request) keeps nothing.
	if candidates, _ := gcChoose(envs, map[string]bool{}, now); len(candidates) != len(envs) {
		t.Errorf("an empty keep list deletes %d of %d environments", len(candidates), len(envs))
	}
}

func TestReadKeepFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keep.txt")
	if err := os.WriteFile(path, []byte("# open pull requests\npr12\n\n  pr13  # a comment\nstaging\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readKeepFile(path)
	if err != nil || !reflect.DeepEqual(got, []string{"pr12", "pr13", "staging"}) {
		t.Errorf("readKeepFile = %v, %v", got, err)
	}
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("pr1\nPR 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readKeepFile(bad); err == nil || !strings.Contains(err.Error(), "bad.txt:2:") {
		t.Errorf("a bad name: %v, want the file and line", err)
	}
	if _, err := readKeepFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory: %v", err)
	}
}

// Bad input is one line and exit 2, before any AWS call: the endpoint here answers nothing, so
// a call would end otherwise.
func TestGCBadInputIsRefusedBeforeAnyCall(t *testing.T) {
	isolateAWS(t)
	dir := t.TempDir()
	badFile := filepath.Join(dir, "keep.txt")
	if err := os.WriteFile(badFile, []byte("pr1\nnot_an_env\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"gc", "--keep", "Bad_Name", "--yes"}, `invalid --keep "Bad_Name"`},
		{[]string{"gc", "--keep-file", filepath.Join(dir, "missing.txt"), "--yes"}, "cannot read --keep-file"},
		{[]string{"gc", "--keep-file", badFile, "--yes"}, badFile + ":2:"},
		{[]string{"gc", "--parallelism", "0", "--yes"}, "invalid --parallelism 0"},
		{[]string{"gc", "--output", "yaml", "--yes"}, "invalid --output"},
		{[]string{"gc"}, "pass --yes"},
		{[]string{"gc", "stray"}, "gc takes no arguments"},
	} {
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), append([]string{"tapctl", "--endpoint", "http://127.0.0.1:1", "--state-dir", dir}, tc.args...),
			Options{Stdout: &stdout, Stderr: &stderr, Stdin: strings.NewReader(""), Interactive: func() bool { return false }})
		msg := strings.TrimSpace(stderr.String())
		if code != ExitUsage || strings.Contains(msg, "\n") || !strings.Contains(msg, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line containing %q", tc.args, code, msg, tc.want)
		}
	}
}
