package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/inventory"
	"github.com/tapctl/tapctl/naming"
	"github.com/tapctl/tapctl/provision"
	"github.com/tapctl/tapctl/state"
	"github.com/tapctl/tapctl/teardown"
)

// tapctl gc: the environments of the account and region whose expiry (up --ttl) has passed,
// and, given --keep or --keep-file, every one not kept, each taken down as tapctl down does.

const (
	defaultGCParallelism = 3
	maxGCParallelism     = 20
	// maxKeepFile bounds --keep-file: a list of names, never a large file.
	maxKeepFile = 1 << 20
)

// What gc did with one environment.
const (
	gcDeleted     = "deleted"
	gcSkipped     = "skipped"
	gcFailed      = "failed"
	gcWouldDelete = "would delete"
)

type gcRow struct {
	Env    string `json:"env"`
	Action string `json:"action"`
	Reason string `json:"reason"`
}

// gcCandidate is an environment gc means to delete, and why.
type gcCandidate struct {
	env inventory.Environment
	// byExpiry: deleted because its expiry passed (not because it is not kept), so the expiry
	// is read again under the lock: an up --ttl that extended it meanwhile wins.
	byExpiry bool
	reason   string
}

func gcCommand(opts Options) *cli.Command {
	return &cli.Command{
		Name:  "gc",
		Usage: "delete the environments whose expiry (up --ttl) has passed, or, with --keep/--keep-file, every one not kept",
		Description: `Finds every environment of the account and region by its tags, as tapctl list does. It
deletes those whose expiry (set by up --ttl) has passed; given --keep or --keep-file, it deletes
every environment not kept, expired or not, and never a kept one. Environments without an expiry
are left alone unless --keep or --keep-file is given.

Each environment is taken down as tapctl down takes it down: its lock, the same ownership
checks, the sweep. An environment whose lock is held is skipped (named as locked), and the
expiry of an expired one is read again under its lock, so an up --ttl that extended it since
wins. Several environments are taken down side by side (--parallelism, default 3).

It lists what it will delete and asks for "yes" on a terminal; scripts and CI pass --yes
(without a terminal and without --yes it refuses before any AWS call). --dry-run lists what it
would delete and deletes nothing. It ends with a table (ENV, ACTION, REASON: deleted, skipped
or failed, and why) and exits 0 only when nothing failed.

The keep file holds one environment name per line; blank lines and # comments are ignored.

Examples:
   tapctl gc --dry-run
   tapctl gc --yes
   tapctl gc --keep staging --keep pr6906 --yes
   gh pr list --state open --limit 1000 --json number --jq '.[] | "pr\(.number)"' > keep.txt
   tapctl --state s3://my-tapctl-state/ci gc --keep-file keep.txt --yes`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "keep", Usage: "an environment to keep (repeatable, or comma-separated); with it, every environment not kept is deleted"},
			&cli.StringFlag{Name: "keep-file", Usage: "a file of environments to keep, one per line (# comments); with it, every environment not kept is deleted"},
			&cli.BoolFlag{Name: "dry-run", Usage: "list what gc would delete, and delete nothing"},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "delete without asking"},
			&cli.IntFlag{Name: "parallelism", Value: defaultGCParallelism, Usage: "how many environments are taken down at once"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", Usage: "the final report: table or json"},
			configFlag(),
		},
		Action: func(c *cli.Context) error {
			in, err := checkGCInputs(c, opts)
			if err != nil {
				return err
			}
			ask := !c.Bool("yes") && !c.Bool("dry-run")
			if ask && !interactive(opts) {
				return usagef("gc deletes environments and there is no terminal to confirm on; pass --yes (or --dry-run to see what it would delete)")
			}
			region, envs, err := findEnvironments(c, opts)
			if err != nil {
				return err
			}
			candidates, rows := gcChoose(envs, in.keep, time.Now())
			if c.Bool("dry-run") || len(candidates) == 0 {
				for _, cand := range candidates {
					rows = append(rows, gcRow{Env: cand.env.Name, Action: gcWouldDelete, Reason: cand.reason})
				}
				return printGCReport(opts, in.json, region, rows)
			}
			if ask {
				if err := confirmGC(c.Context, opts, region, candidates); err != nil {
					return err
				}
			}
			rows = append(rows, runGC(c, opts, in, candidates)...)
			if err := printGCReport(opts, in.json, region, rows); err != nil {
				return err
			}
			var failed []string
			for _, r := range rows {
				if r.Action == gcFailed {
					failed = append(failed, r.Env)
				}
			}
			if len(failed) > 0 {
				return fmt.Errorf("gc could not delete %d of %d environments: %s (why: the table above; -v logs more); run tapctl gc again once the cause is fixed",
					len(failed), len(candidates), strings.Join(failed, ", "))
			}
			return nil
		},
	}
}

// gcInputs are gc's flags, checked before any AWS call.
type gcInputs struct {
	keep        map[string]bool // nil: no --keep and no --keep-file (expiry only)
	services    []catalog.Service
	parallelism int
	json        bool
}

func checkGCInputs(c *cli.Context, opts Options) (gcInputs, error) {
	var in gcInputs
	var err error
	if in.json, err = jsonOutput(c); err != nil {
		return in, err
	}
	if n := c.Int("parallelism"); n < 1 || n > maxGCParallelism {
		return in, usagef("invalid --parallelism %d: use 1 to %d environments at once", n, maxGCParallelism)
	}
	in.parallelism = c.Int("parallelism")
	if err := cloud.ValidateRegion(c.String("region")); err != nil {
		return in, usageError{err}
	}
	if err := cloud.ValidateEndpoint(c.String("endpoint")); err != nil {
		return in, usageError{err}
	}
	if err := checkStateFlags(c); err != nil {
		return in, err
	}
	if in.services, err = loadServices(c, opts); err != nil {
		return in, err
	}
	if c.IsSet("keep") || c.IsSet("keep-file") {
		in.keep = map[string]bool{}
	}
	for _, name := range c.StringSlice("keep") {
		name = strings.TrimSpace(name)
		if err := checkKeepName(name); err != nil {
			return in, usagef("invalid --keep %q: %v", name, err)
		}
		in.keep[name] = true
	}
	if c.IsSet("keep-file") {
		names, err := readKeepFile(c.String("keep-file"))
		if err != nil {
			return in, err
		}
		for _, name := range names {
			in.keep[name] = true
		}
	}
	return in, nil
}

// checkKeepName is naming's check of an environment name, worded for a name to keep.
func checkKeepName(name string) error {
	if err := naming.ValidateEnv(name, nil); err != nil {
		msg := err.Error()
		if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "invalid --env") {
			msg = rest
		}
		return errors.New(msg)
	}
	return nil
}

// readKeepFile reads --keep-file: one environment name per line; blank lines and # comments
// (whole lines or the end of one) are ignored. Any problem is bad input, in one line.
func readKeepFile(path string) ([]string, error) {
	if path == "" {
		return nil, usagef("--keep-file must not be empty")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("cannot read --keep-file: %v", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, usagef("cannot read --keep-file: %v", err)
	}
	if !info.Mode().IsRegular() {
		return nil, usagef("--keep-file %s is not a regular file", path)
	}
	if info.Size() > maxKeepFile {
		return nil, usagef("--keep-file %s is larger than %d bytes; it holds environment names, one per line", path, maxKeepFile)
	}
	var names []string
	scanner := bufio.NewScanner(io.LimitReader(f, maxKeepFile+1))
	for line := 1; scanner.Scan(); line++ {
		text := scanner.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		if err := checkKeepName(text); err != nil {
			return nil, usagef("%s:%d: %q is not an environment name: %v", path, line, text, err)
		}
		names = append(names, text)
	}
	if err := scanner.Err(); err != nil {
		return nil, usagef("cannot read --keep-file %s: %v", path, err)
	}
	return names, nil
}

// gcChoose sorts the environments into those gc deletes and those it skips (with why). keep
// is nil when no keep list was given.
func gcChoose(envs []inventory.Environment, keep map[string]bool, now time.Time) ([]gcCandidate, []gcRow) {
	var candidates []gcCandidate
	var skipped []gcRow
	for _, e := range envs {
		switch {
		case keep[e.Name]:
			skipped = append(skipped, gcRow{Env: e.Name, Action: gcSkipped, Reason: "kept"})
		case keep != nil:
			reason := "not kept"
			if e.Expired(now) {
				reason += "; expired " + formatWhen(*e.Expires)
			}
			candidates = append(candidates, gcCandidate{env: e, reason: reason})
		case e.Expired(now):
			candidates = append(candidates, gcCandidate{env: e, byExpiry: true, reason: "expired " + formatWhen(*e.Expires)})
		case e.Expires == nil:
			skipped = append(skipped, gcRow{Env: e.Name, Action: gcSkipped, Reason: "no expiry (up --ttl sets one)"})
		default:
			skipped = append(skipped, gcRow{Env: e.Name, Action: gcSkipped, Reason: "not expired: expires " + formatWhen(*e.Expires)})
		}
	}
	return candidates, skipped
}

func formatWhen(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// confirmGC lists what gc will delete and asks, as down does, for the word "yes".
func confirmGC(ctx context.Context, opts Options, region string, candidates []gcCandidate) error {
	fmt.Fprintf(opts.Stdout, "tapctl gc will delete %d environments of %s, each as tapctl down does (every resource tagged with its name):\n", len(candidates), region)
	for _, cand := range candidates {
		fmt.Fprintf(opts.Stdout, "  - %s  (%s; %d resources)\n", cand.env.Name, cand.reason, cand.env.Resources)
	}
	fmt.Fprint(opts.Stdout, "Only 'yes' will be accepted to confirm: ")
	answered := make(chan string, 1)
	go func() {
		answer, _ := bufio.NewReader(opts.Stdin).ReadString('\n')
		answered <- answer
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(opts.Stdout)
		return ctx.Err()
	case answer := <-answered:
		if strings.TrimSpace(answer) != "yes" {
			return usagef("gc cancelled: the answer was not 'yes'; nothing was deleted")
		}
	}
	return nil
}

// runGC takes the candidates down, at most in.parallelism at once, and says what became of each.
func runGC(c *cli.Context, opts Options, in gcInputs, candidates []gcCandidate) []gcRow {
	// The downs share stderr: one writer, one line at a time, and no live lines (they would tear).
	stderr := &lockedWriter{w: opts.Stderr}
	format := c.String("log-format")
	if format == "" {
		format = "json"
		if f, ok := opts.Stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			format = "console"
		}
	}
	setup := sessionSetup{
		progress:  func() *liveProgress { return startProgress(stderr, false, 0, 0) },
		logFormat: format,
		services:  in.services,
	}
	rows := make([]gcRow, len(candidates))
	slots := make(chan struct{}, in.parallelism)
	// Overlays first, then the rest: a base is taken down only once its overlays are gone.
	for _, overlays := range []bool{true, false} {
		var wg sync.WaitGroup
		for i, cand := range candidates {
			if (cand.env.Base != "") != overlays {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case slots <- struct{}{}:
				case <-c.Context.Done():
					rows[i] = gcRow{Env: cand.env.Name, Action: gcSkipped, Reason: "not started: " + cloud.Brief(context.Cause(c.Context))}
					return
				}
				defer func() { <-slots }()
				rows[i] = gcDown(c, opts, setup, cand)
			}()
		}
		wg.Wait()
	}
	return rows
}

// gcDown takes one environment down as tapctl down does, under its lock.
func gcDown(c *cli.Context, opts Options, setup sessionSetup, cand gcCandidate) gcRow {
	row := gcRow{Env: cand.env.Name}
	fail := func(err error) gcRow {
		row.Action, row.Reason = gcFailed, shorten(failureLines(err, true)[0])
		return row
	}
	setup.env = cand.env.Name
	s, err := openEnvSession(c.Context, c, opts, setup, true)
	var locked *state.LockedError
	if errors.As(err, &locked) {
		row.Action, row.Reason = gcSkipped, "locked by "+describeHolder(locked.Holder)
		return row
	}
	if err != nil {
		return fail(err)
	}
	defer s.close()
	if cand.byExpiry {
		// Asked again under the lock, from the secret itself: an up --ttl since the listing wins.
		expires, ok, err := provision.Expiry(s.ctx, s.env)
		switch {
		case err != nil:
			return fail(err)
		case !ok:
			row.Action, row.Reason = gcSkipped, "no expiry any more (changed since gc listed it)"
			return row
		case time.Now().Before(expires):
			row.Action, row.Reason = gcSkipped, "not expired: extended to "+formatWhen(expires)+" since gc listed it"
			return row
		}
	}
	s.log.Info().Str("region", s.env.Region).Str("why", cand.reason).Msg("gc: tearing environment down")
	down, err := teardown.Prepare(s.ctx, s.env, teardown.Options{Choices: rememberedChoices(s), Parallelism: defaultParallelism})
	if err != nil {
		s.finish("down (failed)")
		return fail(err)
	}
	if err := down.Run(s.ctx); err != nil {
		s.finish("down (failed)")
		return fail(err)
	}
	s.finish("down")
	row.Action, row.Reason = gcDeleted, cand.reason
	return row
}

// printGCReport ends gc: one row per environment, in name order.
func printGCReport(opts Options, asJSON bool, region string, rows []gcRow) error {
	sort.Slice(rows, func(i, j int) bool { return rows[i].Env < rows[j].Env })
	return printPerEnvironment(opts, asJSON, region, rows, "ENV\tACTION\tREASON", func(r gcRow) string {
		return fmt.Sprintf("%s\t%s\t%s", r.Env, r.Action, r.Reason)
	})
}

// lockedWriter lets several sessions share one writer, one Write at a time.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
