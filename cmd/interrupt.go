package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/tapctl/tapctl/engine"
)

// Interrupted is the cause a run's context is cancelled with when the user or CI asks tapctl
// to stop (Ctrl-C, SIGTERM): main sets it, Run reports it and exits as the shell expects.
type Interrupted struct{ Signal os.Signal }

func (i Interrupted) Error() string { return "interrupted by " + i.Signal.String() }

// exitCode is 128 + the signal's number, as a shell reports a process the signal ended:
// 130 for SIGINT, 143 for SIGTERM.
func (i Interrupted) exitCode() int {
	if s, ok := i.Signal.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 128 + int(syscall.SIGINT)
}

func interruption(ctx context.Context) (Interrupted, bool) {
	var i Interrupted
	ok := errors.As(context.Cause(ctx), &i)
	return i, ok
}

// runChanges lets Run, which only sees the command's error, report what a run changed before
// it was interrupted: the session puts its summary here.
type runChanges struct {
	summary  *engine.Summary // nil until a session that may change the environment opens
	changing bool
}

type runChangesKey struct{}

func withRunChanges(ctx context.Context) (context.Context, *runChanges) {
	rc := &runChanges{}
	return context.WithValue(ctx, runChangesKey{}, rc), rc
}

// track is called by a session that holds the environment's lock (up, down, deploy, rollback).
func track(ctx context.Context, sum *engine.Summary) {
	if rc, ok := ctx.Value(runChangesKey{}).(*runChanges); ok {
		rc.summary, rc.changing = sum, true
	}
}

// interruptedLine is the one line an interrupted run ends with. Every ID created so far is
// already in the state file (it is written right after each create), so running again resumes.
func (rc *runChanges) interruptedLine() string {
	if !rc.changing {
		return "interrupted; nothing was changed"
	}
	n := 0
	if rc.summary != nil {
		n = rc.summary.Changes()
	}
	noun := "changes"
	if n == 1 {
		noun = "change"
	}
	return fmt.Sprintf("interrupted after %d %s; the state file is saved; run the same command again to finish", n, noun)
}
