package cmd

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tapctl/tapctl/state"
)

// A session refused before it is ready closes the progress lines it started: on a terminal their
// ticker is a goroutine that would otherwise redraw for the rest of the process. The ticker is
// given an hour between frames, so the test never waits on it; it only reads whether Close ran.
func TestRefusedSessionClosesItsProgress(t *testing.T) {
	isolateAWS(t)
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, dir string)
		want    string
	}{
		{"the lock is held", func(t *testing.T, dir string) {
			held, err := state.Acquire(dir, "pr1")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { held.Release() })
		}, "is in use by another tapctl"},
		{"the state file is corrupt", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "pr1.json"), []byte("{not json"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "pr1.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.prepare(t, dir)
			var started []*liveProgress
			var stdout, stderr bytes.Buffer
			opts := Options{Stdout: &stdout, Stderr: &stderr, progress: func(w io.Writer) *liveProgress {
				p := startProgress(w, true, 80, time.Hour)
				started = append(started, p)
				return p
			}}
			code := Run(context.Background(), []string{"tapctl", "--state-dir", dir, "down", "--yes", "--env", "pr1"}, opts)
			if code == ExitOK || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q: want a failure naming %q", code, stderr.String(), tc.want)
			}
			if len(started) != 1 {
				t.Fatalf("%d progress blocks started, want 1", len(started))
			}
			p := started[0]
			p.mu.Lock()
			closed := p.closed
			p.mu.Unlock()
			if !closed {
				t.Error("the session returned its error without closing its progress: the ticker goroutine keeps running")
			}
		})
	}
}
