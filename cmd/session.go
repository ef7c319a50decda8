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
	// network is the catalog file's network section, which up and plan apply; nil when the
	// session read no file (gc).
	network *catalog.Network
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

func preflight(ctx context.Context, cfg aws.Config, clients *cloud.Clients) (*cloud.Identity, error) {
	id, err := cloud.Preflight(ctx, cfg, clients.STS)
	return &id, err
}

// checkInputs validates everything the user typed; it makes no AWS call and touches no file.
func checkInputs(c *cli.Context, env string, services []catalog.Service) error {
	if err := naming.ValidateEnv(env, catalog.Names(services)); err != nil {
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
// (the progress ticker, the lock) is closed again on every path that returns an error. The
// command's context becomes the session's (retries, a lost lock's cancellation).
func openSession(c *cli.Context, opts Options, exclusive bool) (*session, error) {
	s, err := openEnvSession(c.Context, c, opts, sessionSetup{env: c.String("env")}, exclusive)
	if err != nil {
		return nil, err
	}
	c.Context = s.ctx
	return s, nil
}

// sessionSetup is what differs between the session of a command on one environment and the
// sessions gc opens side by side, one per environment.
type sessionSetup struct {
	env string
	// progress and logFormat, when set, replace the command's (gc: a shared writer without live
	// lines, and the log format chosen for the real stderr).
	progress  func() *liveProgress
	logFormat string
	// services, when set, is the catalog already loaded and checked.
	services []catalog.Service
}

// openEnvSession is openSession for the environment setup names, on ctx; it never writes to c,
// so that several may run side by side (gc). The session's ctx is the one to work with.
func openEnvSession(ctx context.Context, c *cli.Context, opts Options, setup sessionSetup, exclusive bool) (_ *session, err error) {
	startProgress := func() *liveProgress {
		if opts.progress != nil {
			return opts.progress(opts.Stderr)
		}
		return newProgress(opts.Stderr)
	}
	if setup.progress != nil {
		startProgress = setup.progress
	}
	s := &session{progress: startProgress(), calls: cloud.NewCallCounter(), started: time.Now(), ctx: ctx}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	format := c.String("log-format")
	if setup.logFormat != "" {
		format = setup.logFormat
	}
	log, err := newLogger(s.progress, format, c.Bool("verbose"))
	if err != nil {
		return nil, err
	}
	services := setup.services
	if services == nil {
		f, err := loadCatalogFile(c, opts)
		if err != nil {
			return nil, err
		}
		services, s.network = f.Services, &f.Network
	}
	envName := setup.env
	if err := checkInputs(c, envName, services); err != nil {
		return nil, err
	}
	s.log = log.With().Str("env", envName).Logger()
	s.retries = cloud.NewRetries(s.log)
	// Bounded retry loops in the steps report to the same log as the SDK's retries.
	ctx = cloud.WithRetries(ctx, s.retries)
	s.ctx = ctx
	cfg, err := cloud.Load(ctx, cloud.Options{
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
		if id, err = preflight(ctx, cfg, clients); err != nil {
			return nil, err
		}
	}
	if exclusive {
		if s.lock, err = state.AcquireIn(ctx, backend, envName); err != nil {
			return nil, err
		}
		ctx, s.unwatch = watchLock(ctx, s.lock)
		s.ctx = ctx
		if left := s.lock.Leftovers(); len(left) > 0 {
			s.log.Info().Strs("files", left).Str("dir", c.String("state-dir")).Msg("removed the temporary files an interrupted run left in the state directory")
		}
		if prev, ok := s.lock.Replaced(); ok {
			s.log.Warn().Str("holder", prev.Holder).Int("pid", prev.PID).Time("since", prev.Started).Time("lapsed", prev.Expires).
				Msgf("took over the lock of %s (pid %d), not renewed since its lease ended; that run had died or lost touch", prev.Holder, prev.PID)
		}
	}
	st, err := state.OpenIn(ctx, backend, envName)
	if err != nil {
		return nil, err
	}
	if recorded := st.Setting(provision.SettingRegion); recorded != "" && recorded != cfg.Region {
		return nil, usagef("environment %s was created in %s, but this run targets %s; pass --region %s", envName, recorded, cfg.Region, recorded)
	}
	if id == nil {
		if id, err = preflight(ctx, cfg, clients); err != nil {
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
	base := st.Setting(provision.SettingBase)
	if base == "" && len(st.Keys()) == 0 {
		base = provision.DiscoverBase(ctx, e) // an overlay whose state file is elsewhere, or lost
	}
	if base != "" {
		e.UseBase(base)
	}
	if exclusive {
		track(ctx, e.Summary())
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
