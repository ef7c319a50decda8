package cmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/middleware"
	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/naming"
	"github.com/tapctl/tapctl/provision"
	"github.com/tapctl/tapctl/state"
)

// session is one command's hold on an environment: its lock, state, clients and call counter.
type session struct {
	env      *provision.Env
	lock     *state.Lock
	unwatch  func() // ends watchLock
	calls    *cloud.CallCounter
	retries  *cloud.Retries
	log      zerolog.Logger
	progress *liveProgress // live lines on a terminal; the log's writer
	started  time.Time
	ctx      context.Context // the command's: finish tells an interrupted run from a failed one
}

func (s *session) close() {
	s.progress.Close()
	if s.unwatch != nil {
		s.unwatch()
	}
	if s.lock != nil {
		_ = s.lock.Release()
	}
}

func preflight(c *cli.Context, cfg aws.Config, clients *cloud.Clients) (*cloud.Identity, error) {
	id, err := cloud.Preflight(c.Context, cfg, clients.STS)
	return &id, err
}

// checkInputs validates everything the user typed; it makes no AWS call and touches no file.
func checkInputs(c *cli.Context, services []catalog.Service) error {
	if err := naming.ValidateEnv(c.String("env"), catalog.Names(services)); err != nil {
		return usageError{err}
	}
	if err := cloud.ValidateRegion(c.String("region")); err != nil {
		return usageError{err}
	}
	if err := cloud.ValidateEndpoint(c.String("endpoint")); err != nil {
		return usageError{err}
	}
	return checkStateFlags(c)
}

// openSession checks the inputs, takes the environment's lock (when the command changes
// anything), opens the state, and checks credentials with one read call. Whatever it started
// (the progress ticker, the lock) is closed again on every path that returns an error.
func openSession(c *cli.Context, opts Options, exclusive bool) (_ *session, err error) {
	startProgress := newProgress
	if opts.progress != nil {
		startProgress = opts.progress
	}
	s := &session{progress: startProgress(opts.Stderr), calls: cloud.NewCallCounter(), started: time.Now(), ctx: c.Context}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	log, err := newLogger(s.progress, c.String("log-format"), c.Bool("verbose"))
	if err != nil {
		return nil, err
	}
	services, err := loadServices(c, opts)
	if err != nil {
		return nil, err
	}
	if err := checkInputs(c, services); err != nil {
		return nil, err
	}
	envName := c.String("env")
	s.log = log.With().Str("env", envName).Logger()
	s.retries = cloud.NewRetries(s.log)
	// Bounded retry loops in the steps report to the same log as the SDK's retries.
	c.Context = cloud.WithRetries(c.Context, s.retries)
	cfg, err := cloud.Load(c.Context, cloud.Options{
		Region:         c.String("region"),
		Endpoint:       c.String("endpoint"),
		APIOptions:     append([]func(*middleware.Stack) error{s.calls.Middleware}, opts.APIOptions...),
		Retries:        s.retries,
		AttemptTimeout: opts.AttemptTimeout,
	})
	if err != nil {
		return nil, err
	}
	backend, err := stateBackend(c, cfg)
	if err != nil {
		return nil, err
	}
	clients := cloud.NewClients(cfg)
	var id *cloud.Identity
	if isRemote(c) {
		// The lock and the state are AWS calls there: credentials and the endpoint are checked
		// first, so that their problems read as clearly as anywhere else.
		if id, err = preflight(c, cfg, clients); err != nil {
			return nil, err
		}
	}
	if exclusive {
		if s.lock, err = state.AcquireIn(c.Context, backend, envName); err != nil {
			return nil, err
		}
		s.unwatch = watchLock(c, s.lock)
		if left := s.lock.Leftovers(); len(left) > 0 {
			s.log.Info().Strs("files", left).Str("dir", c.String("state-dir")).Msg("removed the temporary files an interrupted run left in the state directory")
		}
		if prev, ok := s.lock.Replaced(); ok {
			s.log.Warn().Str("holder", prev.Holder).Int("pid", prev.PID).Time("since", prev.Started).Time("lapsed", prev.Expires).
				Msgf("took over the lock of %s (pid %d), not renewed since its lease ended; that run had died or lost touch", prev.Holder, prev.PID)
		}
	}
	st, err := state.OpenIn(c.Context, backend, envName)
	if err != nil {
		return nil, err
	}
	if recorded := st.Setting(provision.SettingRegion); recorded != "" && recorded != cfg.Region {
		return nil, usagef("environment %s was created in %s, but this run targets %s; pass --region %s", envName, recorded, cfg.Region, recorded)
	}
	if id == nil {
		if id, err = preflight(c, cfg, clients); err != nil {
			return nil, err
		}
	}
	// A state file belongs to one account too: its IDs mean nothing, or something else, in another.
	if recorded := st.Setting(provision.SettingAccount); recorded != "" && recorded != id.Account {
		return nil, usagef("environment %s was created in account %s, but these credentials are for account %s; use credentials of account %s, or another --state-dir",
			envName, recorded, id.Account, recorded)
	}
	e := provision.NewEnv(envName)
	e.Region, e.Account, e.AWS, e.State, e.Catalog, e.Log = cfg.Region, id.Account, clients, st, services, s.log
	e.Partition = id.Partition()
	e.Progress = s.progress.observer()
	s.env = e
	if exclusive {
		track(c.Context, e.Summary())
	}
	s.log.Debug().Str("region", cfg.Region).Str("account", id.Account).Str("state", st.Path()).Msg("session ready")
	return s, nil
}

// finish logs what the run did: what was retried and why (one line), changes, API calls and wall
// time; at debug level, calls per step.
func (s *session) finish(verb string) {
	if v, failed := strings.CutSuffix(verb, " (failed)"); failed {
		if _, interrupted := interruption(s.ctx); interrupted {
			verb = v + " (interrupted)"
		}
	}
	for step, n := range s.calls.PerStep() {
		s.log.Debug().Str("step", step).Int("calls", n).Msg("step calls")
	}
	if line := s.retries.Summary(); line != "" {
		s.log.Info().Int("retries", s.retries.Total()).Msg(line)
	}
	sum := s.env.Summary()
	mutating, reads := s.calls.Totals()
	event := s.log.Info()
	if s.progress.IsTerminal() {
		// On a terminal the summary is one plain line; the fields stay in the debug log.
		s.progress.Println(summaryLine(verb, sum, time.Since(s.started)))
		event = s.log.Debug()
	}
	event.
		Int("created", len(sum.Created)).Int("updated", len(sum.Updated)).
		Int("deleted", len(sum.Deleted)).Int("unchanged", len(sum.Unchanged)).
		Int("mutatingCalls", mutating).Int("readCalls", reads).
		Str("elapsed", time.Since(s.started).Round(time.Millisecond).String()).
		Msg(fmt.Sprintf("%s finished", verb))
}
