package cmd

import (
	"bytes"
	"context"
	"os"
	"syscall"
	"testing"

	"github.com/tapctl/tapctl/engine"
)

// A run whose context was cancelled by a signal ends with one line and 128 + the signal's
// number, whatever error the command itself returned.
func TestInterruptedRunExitsWithTheSignalsCode(t *testing.T) {
	isolateAWS(t)
	for _, tc := range []struct {
		signal os.Signal
		code   int
	}{{os.Interrupt, 130}, {syscall.SIGTERM, 143}} {
		t.Run(tc.signal.String(), func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			cancel(Interrupted{Signal: tc.signal})
			var stdout, stderr bytes.Buffer
			code := Run(ctx, []string{"tapctl", "--endpoint", "http://127.0.0.1:1", "--state-dir", t.TempDir(), "status", "--env", "x"},
				Options{Stdout: &stdout, Stderr: &stderr})
			if want := "tapctl: interrupted; nothing was changed\n"; code != tc.code || stderr.String() != want {
				t.Errorf("exit %d, stderr %q; want %d, %q", code, stderr.String(), tc.code, want)
			}
		})
	}
}

func TestInterruptedLineCountsChanges(t *testing.T) {
	sum := &engine.Summary{Created: []string{"a", "b"}, Updated: []string{"c"}, Deleted: []string{"d"}, Unchanged: []string{"e"}}
	for _, tc := range []struct {
		changes *runChanges
		want    string
	}{
		{&runChanges{}, "interrupted; nothing was changed"},
		{&runChanges{changing: true}, "interrupted after 0 changes; the state file is saved; run the same command again to finish"},
		{&runChanges{changing: true, summary: &engine.Summary{Deleted: []string{"d"}}}, "interrupted after 1 change; the state file is saved; run the same command again to finish"},
		{&runChanges{changing: true, summary: sum}, "interrupted after 4 changes; the state file is saved; run the same command again to finish"},
	} {
		if got := tc.changes.interruptedLine(); got != tc.want {
			t.Errorf("interruptedLine() = %q, want %q", got, tc.want)
		}
	}
}
