package cmd

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/middleware"
	"github.com/urfave/cli/v2"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/state"
)

// Where state lives: --state s3://BUCKET/PREFIX (also TAPCTL_STATE), else the local --state-dir.

// Bounds of --lock-lease: shorter than a second leaves no room to renew; longer than an hour
// keeps a crashed run's environment locked for too long.
const (
	minLockLease = time.Second
	maxLockLease = time.Hour
)

func stateFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "state-dir", Value: ".tapctl", Usage: "directory of the state files", EnvVars: []string{"TAPCTL_STATE_DIR"}},
		&cli.StringFlag{Name: "state", Usage: "keep state files and locks on S3 instead of --state-dir, e.g. s3://my-tapctl-state/ci (see tapctl state init)", EnvVars: []string{"TAPCTL_STATE"}},
		&cli.DurationFlag{Name: "lock-lease", Value: state.DefaultLease, Usage: "with --state s3://…: how long a lock outlives a run that stopped renewing it (renewed every quarter lease)"},
	}
}

// s3State is --state, parsed; nil when state is local.
func s3State(c *cli.Context) (*state.S3Location, error) {
	raw := c.String("state")
	if raw == "" {
		return nil, nil
	}
	loc, err := state.ParseS3URL(raw)
	if err != nil {
		return nil, usageError{err}
	}
	return &loc, nil
}

// checkStateFlags is the state's part of checkInputs: no call, no file.
func checkStateFlags(c *cli.Context) error {
	loc, err := s3State(c)
	if err != nil {
		return err
	}
	if loc == nil && c.String("state-dir") == "" {
		return usagef("--state-dir must not be empty")
	}
	if lease := c.Duration("lock-lease"); lease < minLockLease || lease > maxLockLease {
		return usagef("invalid --lock-lease %s: it must be between %s and %s", lease, minLockLease, maxLockLease)
	}
	return nil
}

// stateBackend is where the environment's state lives; cfg is used only for S3.
func stateBackend(c *cli.Context, cfg aws.Config) (state.Backend, error) {
	loc, err := s3State(c)
	if err != nil || loc == nil {
		return state.Dir(c.String("state-dir")), err
	}
	return state.S3(cloud.NewS3(cfg), *loc, state.S3Options{Lease: c.Duration("lock-lease")}), nil
}

// isRemote says whether state lives on S3: reading it is an AWS call.
func isRemote(c *cli.Context) bool { return c.String("state") != "" }

// loadConfig is the AWS configuration of a command that needs no session (outputs, graph,
// unlock, state init); it makes no call.
func loadConfig(c *cli.Context, opts Options) (aws.Config, error) {
	return cloud.Load(c.Context, cloud.Options{
		Region: c.String("region"), Endpoint: c.String("endpoint"),
		APIOptions:     append([]func(*middleware.Stack) error(nil), opts.APIOptions...),
		AttemptTimeout: opts.AttemptTimeout,
	})
}

// openState reads the environment's state without a lock or session (outputs, deploy's check,
// graph --offline): from the state directory with no AWS call, or with one GetObject from S3.
func openState(c *cli.Context, opts Options, env string) (*state.Store, error) {
	if err := checkStateFlags(c); err != nil {
		return nil, err
	}
	var cfg aws.Config
	if isRemote(c) {
		var err error
		if cfg, err = loadConfig(c, opts); err != nil {
			return nil, err
		}
	}
	backend, err := stateBackend(c, cfg)
	if err != nil {
		return nil, err
	}
	return state.OpenIn(c.Context, backend, env)
}

// stateWhere names the state's place in messages: the directory or the s3:// location.
func stateWhere(c *cli.Context) string {
	if isRemote(c) {
		return c.String("state")
	}
	return c.String("state-dir")
}

// watchLock makes a lock lost mid-run (S3: broken with tapctl unlock, or taken over after a
// lease the run failed to renew) stop the run: the returned context is cancelled, and Run ends
// it with one line saying why. The returned stop ends the watch when the session closes.
func watchLock(parent context.Context, lock *state.Lock) (_ context.Context, stop func()) {
	lost := lock.Lost()
	if lost == nil {
		return parent, func() {}
	}
	ctx, cancel := context.WithCancelCause(parent)
	done := make(chan struct{})
	go func() {
		select {
		case <-lost:
			why := lock.LostErr()
			noteLockLost(ctx, why)
			cancel(why)
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() { once.Do(func() { close(done) }) }
}

// lockLoss is where a session reports a lost lock to Run, which only sees the command's error.
type lockLoss struct {
	mu  sync.Mutex
	err error
}

type lockLossKey struct{}

func withLockLoss(ctx context.Context) (context.Context, *lockLoss) {
	l := &lockLoss{}
	return context.WithValue(ctx, lockLossKey{}, l), l
}

func noteLockLost(ctx context.Context, err error) {
	if l, ok := ctx.Value(lockLossKey{}).(*lockLoss); ok {
		l.mu.Lock()
		l.err = err
		l.mu.Unlock()
	}
}

// line is how a run that lost its lock ends, or "" when it did not.
func (l *lockLoss) line(changes *runChanges) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		return ""
	}
	n := 0
	if changes.summary != nil {
		n = changes.summary.Changes()
	}
	return fmt.Sprintf("%s; this run stopped after %d changes so as not to work beside another run; once that one has finished, run the same command again",
		oneLine(l.err.Error()), n)
}
