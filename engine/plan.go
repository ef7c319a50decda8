package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/rs/zerolog"

	"github.com/tapctl/tapctl/cloud"
)

// Action is what up would do to one resource.
type Action string

const (
	Create Action = "create"
	Update Action = "update"
	Delete Action = "delete"
)

// Change is one resource up would create, update or delete.
type Change struct {
	Step     string `json:"step"`
	Resource string `json:"resource"`
	Action   Action `json:"action"`
	// Operation is the first API call up would make for an update, e.g. "EC2.ModifyVpcAttribute".
	Operation string `json:"operation,omitempty"`
	// Fields are the values that call would set (secrets masked, tags and tokens left out).
	Fields map[string]any `json:"fields,omitempty"`
}

// Plan works out what Apply would do, with read calls only: e's clients must carry
// cloud.RefuseMutations. Each step's Up runs against a scratch copy of the state; the first
// mutating call it would make is refused and tells the change: a missing resource is a create,
// an existing one an update with the call's fields. A step after one that would be created is
// a create when its resource is missing too. first, when set, plans what up does before any
// step (the platform's removals, PlanDeletes) on the scratch copy; its changes come first.
//
// Steps are planned as Apply runs them, up to parallelism at a time, each once its
// dependencies are planned; the changes come out in the run order.
func Plan[E Env[E]](ctx context.Context, e E, steps []Step[E], first func(ctx context.Context, scratch E) ([]Change, error), parallelism int) ([]Change, error) {
	e = scratch(e)
	ordered, err := Order(steps)
	if err != nil {
		return nil, err
	}
	// As up: a resource that is not the environment's stops the plan.
	if err := Claim(ctx, e, ordered, parallelism); err != nil {
		return nil, err
	}
	var changes []Change
	if first != nil {
		if changes, err = first(ctx, e); err != nil {
			return nil, err
		}
	}
	p := &planned{created: map[string]bool{}, replaced: map[string]bool{}, changes: map[string][]Change{}}
	err = schedule(ctx, ordered, prerequisitesUp(ordered), parallelism, func(ctx context.Context, s Step[E]) error {
		step, err := planStep(ctx, e, s, p)
		if err != nil {
			return err
		}
		p.mu.Lock()
		p.changes[s.Name()] = step
		p.mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, s := range ordered {
		changes = append(changes, p.changes[s.Name()]...)
	}
	return changes, nil
}

// planned is what the steps planned so far tell the steps that depend on them: which would be
// created, and which would get a new ID or revision (a new task definition revision).
type planned struct {
	mu                sync.Mutex
	created, replaced map[string]bool
	changes           map[string][]Change
}

func (p *planned) is(set map[string]bool, step string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return set[step]
}

func (p *planned) mark(set map[string]bool, step string) {
	p.mu.Lock()
	set[step] = true
	p.mu.Unlock()
}

// scratch is a copy of e for planning: state changes stay in memory, nothing waits, nothing
// logs, and AWS is read afresh.
func scratch[E Env[E]](e E) E {
	return withRun(e, func(r *Run) {
		r.State = r.State.Scratch()
		r.summary = &Summary{}
		r.Wait = false
		r.Log = zerolog.Nop()
		r.plannedDeletes = map[string]bool{}
		r.discovery = newDiscovery()
	})
}

// PlanDeletes plans what up deletes before anything else (the resources of services that left
// the catalog): a delete for each resource of steps that exists, in teardown order. From then
// on, the plan counts the IDs recorded under those steps' names as gone (DeletedInPlan). e is
// the scratch environment Plan hands its first function, or a copy of it.
func PlanDeletes[E Env[E]](ctx context.Context, e E, steps []Step[E]) ([]Change, error) {
	if len(steps) == 0 {
		return nil, nil
	}
	// As up deletes them: what is not the environment's is left alone, not counted.
	e = ForTeardown(e)
	ordered, err := Order(steps)
	if err != nil {
		return nil, err
	}
	var changes []Change
	for _, s := range Reverse(ordered) {
		for _, st := range s.Inspect(cloud.WithStep(ctx, s.Name()), forStep(e, s.Name())) {
			if st.AWS.Kind == Failed {
				return nil, fmt.Errorf("inspecting %s: %s", st.Resource, st.AWS.Detail)
			}
			if st.AWS.Kind != Missing {
				changes = append(changes, Change{Step: s.Name(), Resource: st.Resource, Action: Delete})
			}
		}
	}
	// From here on, what the removed services hold counts as gone.
	r := e.EngineRun()
	for _, s := range ordered {
		if id := r.StateID(s.Name()); id != "" {
			r.plannedDeletes[id] = true
		}
	}
	return changes, nil
}

func planStep[E Env[E]](ctx context.Context, e E, s Step[E], p *planned) ([]Change, error) {
	ctx = cloud.WithStep(ctx, s.Name())
	se := forStep(e, s.Name())
	replacedDep := ""
	for _, d := range s.DependsOn() {
		if p.is(p.created, d) {
			return planAfterCreate(ctx, se, s, d, p)
		}
		if p.is(p.replaced, d) {
			replacedDep = d
		}
	}
	refusals := &cloud.Refusals{}
	err := runRefusing(cloud.WithRefusals(ctx, refusals), se, s)
	refused := refusals.All()
	if len(refused) == 0 {
		if err != nil || replacedDep == "" {
			return nil, err // nil: no change
		}
		// Up would point this resource at what its dependency gets anew.
		statuses, err := inspect(ctx, se, s)
		if err != nil || len(statuses) == 0 {
			return nil, err // a step that owns no resource (the serving wait) changes nothing
		}
		return []Change{{Step: s.Name(), Resource: resources(s, statuses), Action: Update,
			Fields: map[string]any{"reason": replacedDep + " changes first (a new ID or revision); up points this resource at it"}}}, nil
	}
	first := refused[0]
	statuses, err := inspect(ctx, se, s)
	if err != nil {
		return nil, err
	}
	if _, retires := s.(Retirement); retires {
		return deletes(s, statuses), nil
	}
	var missing []Status
	for _, st := range statuses {
		if st.AWS.Kind == Missing {
			missing = append(missing, st)
		}
	}
	op := first.Service + "." + first.Operation
	switch {
	case len(statuses) > 0 && len(missing) == len(statuses), len(missing) > 0 && createOperation(first.Operation):
		p.mark(p.created, s.Name())
		return creates(s, missing), nil
	case len(statuses) == 0 && createOperation(first.Operation):
		p.mark(p.created, s.Name())
		return []Change{{Step: s.Name(), Resource: s.Name(), Action: Create}}, nil
	case len(statuses) == 0 && deleteOperation(first.Operation):
		return []Change{{Step: s.Name(), Resource: s.Name(), Action: Delete, Operation: op}}, nil
	}
	if strings.HasPrefix(first.Operation, "Register") {
		// A new revision of an existing family (RegisterTaskDefinition): what points at it changes
		// too. A Put* on an existing resource keeps its ID.
		p.mark(p.replaced, s.Name())
	}
	return []Change{{Step: s.Name(), Resource: resources(s, statuses), Action: Update, Operation: op, Fields: Fields(first.Input)}}, nil
}

// planAfterCreate: a step whose dependency will be created cannot run its Up yet (what it
// needs is not in the state); its resource is a create when missing.
func planAfterCreate[E any](ctx context.Context, e E, s Step[E], dep string, p *planned) ([]Change, error) {
	statuses := s.Inspect(ctx, e)
	if len(statuses) == 0 {
		return nil, nil // owns no resource (a wait, a retirement)
	}
	var missing []Status
	for _, st := range statuses {
		// An error here is mostly a parent that does not exist yet: nothing to find.
		if st.AWS.Kind == Missing || st.AWS.Kind == Failed {
			missing = append(missing, st)
		}
	}
	if len(missing) > 0 {
		p.mark(p.created, s.Name())
		return creates(s, missing), nil
	}
	// What this step gets anew may in turn change the steps after it (task definition -> ECS service).
	p.mark(p.replaced, s.Name())
	return []Change{{Step: s.Name(), Resource: resources(s, statuses), Action: Update,
		Fields: map[string]any{"reason": dep + " will be created first; the values that depend on it are known after up"}}}, nil
}

// runRefusing runs the step's Up; a step that ignores a refused call's error and trips over
// its missing answer has already said what it would change.
func runRefusing[E any](ctx context.Context, e E, s Step[E]) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("step %s stopped: %v", s.Name(), r)
		}
	}()
	err = s.Up(ctx, e)
	var refused *cloud.MutationRefused
	if errors.As(err, &refused) {
		return nil
	}
	return err
}

func inspect[E any](ctx context.Context, e E, s Step[E]) ([]Status, error) {
	statuses := s.Inspect(ctx, e)
	for _, st := range statuses {
		if st.AWS.Kind == Failed {
			return nil, fmt.Errorf("inspecting %s: %s", st.Resource, st.AWS.Detail)
		}
	}
	return statuses, nil
}

// Retirement is a step whose Up removes what an earlier choice made (App Mesh after a move to
// Service Connect): plan shows what it deletes, not an update of the step.
type Retirement interface{ Retires() }

func deletes[E any](s Step[E], statuses []Status) []Change {
	var out []Change
	for _, st := range statuses {
		if st.AWS.Kind != Missing {
			out = append(out, Change{Step: s.Name(), Resource: st.Resource, Action: Delete})
		}
	}
	return out
}

func creates[E any](s Step[E], missing []Status) []Change {
	out := make([]Change, 0, len(missing))
	for _, st := range missing {
		out = append(out, Change{Step: s.Name(), Resource: st.Resource, Action: Create})
	}
	return out
}

func resources[E any](s Step[E], statuses []Status) string {
	if len(statuses) == 0 {
		return s.Name()
	}
	names := make([]string, len(statuses))
	for i, st := range statuses {
		names[i] = st.Resource
	}
	return strings.Join(names, ", ")
}

func createOperation(op string) bool {
	for _, p := range []string{"Create", "Register", "Allocate", "Put", "Run"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

func deleteOperation(op string) bool {
	for _, p := range []string{"Delete", "Deregister", "Release", "Terminate", "Schedule"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}
