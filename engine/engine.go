// Package engine runs a platform's steps: it orders them by their dependencies, claims every
// resource before the first change, runs them up to a parallelism (Apply, Destroy), runs a step
// again when the answer to one of its creates was lost, reads each kind of resource once per run
// (Discover), works out what a run would change with read calls only (Plan), and proves that a
// resource found is the environment's (FindOwned). It knows nothing of the platform's resources:
// a step's environment is the platform's own type E, of which the engine uses only its Run.
package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tapctl/tapctl/cloud"
)

// Step owns one resource or one small group of resources of the platform; E is the platform's
// environment, what a step needs to reach AWS.
type Step[E any] interface {
	// Name is unique in the platform, e.g. "vpc" or "payment/ecs-service".
	Name() string
	// DependsOn names the steps that must finish before this one starts (and, in
	// teardown, that must wait until this one is deleted).
	DependsOn() []string
	// Claim looks the step's resources up, with read calls only, and proves each one found is
	// the environment's (ownership.go). The engine claims every step before the first change,
	// so a resource that is not the environment's stops a run before it has changed anything;
	// what Claim read is kept for the step's own run.
	Claim(ctx context.Context, e E) error
	// Up finds, creates or corrects the resource so it matches the SPEC. Idempotent.
	Up(ctx context.Context, e E) error
	// Down deletes the resource, treating "already gone" as done.
	Down(ctx context.Context, e E) error
	// Inspect reports what the state file holds and what AWS says now, with read calls only.
	Inspect(ctx context.Context, e E) []Status
}

// Env is what the engine asks of the platform's environment: the run it belongs to, and a
// copy of itself on another run (a step's, one that reads AWS afresh, a plan's scratch).
type Env[E any] interface {
	EngineRun() *Run
	WithRun(*Run) E
}

// Order sorts steps so that every step comes after its dependencies, keeping the given order
// where the graph allows it. It rejects unknown dependencies and cycles.
func Order[E any](steps []Step[E]) ([]Step[E], error) {
	byName := map[string]Step[E]{}
	for _, s := range steps {
		if _, dup := byName[s.Name()]; dup {
			return nil, fmt.Errorf("step %q defined twice", s.Name())
		}
		byName[s.Name()] = s
	}
	for _, s := range steps {
		for _, d := range s.DependsOn() {
			if _, ok := byName[d]; !ok {
				return nil, fmt.Errorf("step %q depends on unknown step %q", s.Name(), d)
			}
		}
	}
	const (
		unvisited = iota
		visiting
		done
	)
	mark := map[string]int{}
	var ordered []Step[E]
	var visit func(s Step[E], path []string) error
	visit = func(s Step[E], path []string) error {
		switch mark[s.Name()] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("step dependency cycle: %s", strings.Join(append(path, s.Name()), " -> "))
		}
		mark[s.Name()] = visiting
		for _, d := range s.DependsOn() {
			if err := visit(byName[d], append(path, s.Name())); err != nil {
				return err
			}
		}
		mark[s.Name()] = done
		ordered = append(ordered, s)
		return nil
	}
	for _, s := range steps {
		if err := visit(s, nil); err != nil {
			return nil, err
		}
	}
	return ordered, nil
}

// Reverse is the teardown order of an ordered list.
func Reverse[E any](ordered []Step[E]) []Step[E] {
	out := make([]Step[E], len(ordered))
	for i, s := range ordered {
		out[len(ordered)-1-i] = s
	}
	return out
}

// Apply runs every step's Up once its dependencies are done, up to parallelism at a time. The
// state file already holds everything created before a failure, so running Apply again resumes.
func Apply[E Env[E]](ctx context.Context, e E, steps []Step[E], parallelism int) error {
	ordered, err := Order(steps)
	if err != nil {
		return err
	}
	if err := Claim(ctx, e, ordered, parallelism); err != nil {
		return err
	}
	return schedule(ctx, ordered, prerequisitesUp(ordered), parallelism, func(ctx context.Context, s Step[E]) error {
		return runStep(ctx, e, s, s.Up)
	})
}

// Destroy runs every step's Down once every step that depends on it is deleted, up to
// parallelism at a time; it stops starting steps at the first failure.
func Destroy[E Env[E]](ctx context.Context, e E, steps []Step[E], parallelism int) error {
	e = ForTeardown(e)
	ordered, err := Order(steps)
	if err != nil {
		return err
	}
	if err := Claim(ctx, e, ordered, parallelism); err != nil {
		return err
	}
	return schedule(ctx, Reverse(ordered), prerequisitesDown(ordered), parallelism, func(ctx context.Context, s Step[E]) error {
		return runStep(ctx, e, s, s.Down)
	})
}

// Claim runs every step's Claim, up to parallelism at a time, and returns every problem found:
// a resource that is not the environment's (ForeignError), or a read that failed.
// Claims read only, so no step waits for another, and every step is claimed even after a
// failure: the user learns of every foreign resource at once.
func Claim[E Env[E]](ctx context.Context, e E, steps []Step[E], parallelism int) error {
	errs := make([]error, len(steps))
	slots := make(chan struct{}, max(parallelism, 1))
	var wg sync.WaitGroup
	for i, s := range steps {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := s.Claim(cloud.WithStep(ctx, s.Name()), forStep(e, s.Name())); err != nil {
				errs[i] = fmt.Errorf("step %s: %w", s.Name(), err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// lostAnswerRuns bounds how often a step is run again after the answer to one of its creates
// was lost; a pause (lostAnswerPause, then twice that) lets AWS's describe calls catch up with
// the create before the step looks the resource up by its tags (they are eventually consistent
// too).
const (
	lostAnswerRuns  = 3
	lostAnswerPause = time.Second
)

// runStep runs a step and, when the answer to one of its creates was lost or was an internal
// error (AWS may or may not have made the resource; the SDK must not blindly send a create
// without idempotency token again), runs it again: every step finds its resource (state ID, then tags) before creating, so
// the second run adopts what the first made, or makes it.
func runStep[E Env[E]](ctx context.Context, e E, s Step[E], run func(context.Context, E) error) error {
	for attempt := 1; ; attempt++ {
		err := timeStep(ctx, e, s, run)
		// What the run read at its start no longer holds: the lost create may have made the resource.
		e = Rediscover(e)
		var lost *cloud.OutcomeUnknownError
		if err == nil || !errors.As(err, &lost) || attempt == lostAnswerRuns {
			return err
		}
		e.EngineRun().Log.Info().Str("step", s.Name()).Str("call", lost.Call).Str("cause", cloud.Cause(lost.Err)).
			Msg("the answer to a create was lost or failed; looking the resource up by its tags before creating it again")
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * lostAnswerPause):
		}
	}
}

// timeStep runs one step with its name on the context (calls are counted per step), tells the
// progress observer when it starts and ends, and logs its duration at debug level.
func timeStep[E Env[E]](ctx context.Context, e E, s Step[E], run func(context.Context, E) error) error {
	r := e.EngineRun()
	start := time.Now()
	if r.Progress != nil {
		r.Progress.StepStarted(s.Name())
	}
	err := run(cloud.WithStep(ctx, s.Name()), forStep(e, s.Name()))
	if r.Progress != nil {
		r.Progress.StepDone(s.Name(), err)
	}
	// The whole error, SDK chain and request ID included, for -v; the run's end sums it up.
	r.Log.Debug().Str("step", s.Name()).Str("elapsed", time.Since(start).Round(time.Millisecond).String()).Err(err).Msg("step done")
	return err
}

// Inspect gathers every step's status in dependency order.
func Inspect[E Env[E]](ctx context.Context, e E, steps []Step[E]) ([]Status, error) {
	ordered, err := Order(steps)
	if err != nil {
		return nil, err
	}
	var out []Status
	for _, s := range ordered {
		for _, st := range s.Inspect(ctx, forStep(e, s.Name())) {
			st.Step = s.Name()
			out = append(out, st)
		}
	}
	return out, nil
}
