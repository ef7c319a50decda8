package provision

import (
	"context"
	"fmt"
	"time"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// Shapes the services' steps share, so that a step is mostly its resource's own logic: reading a
// kind by its names with each one's tags, proving what a per-run read found, recording a
// resource just made, converging a resource known by its name, reporting corrections, and
// deleting what was found (again while something else still uses it).

// tagged is a resource as a per-run read found it, with its tags.
type tagged[T any] struct {
	item T
	tags map[string]string
}

// findByName proves the resource called name in a per-run read (name -> resource), nil when the
// read has none. id names a resource in the "found two" message.
func findByName[T any](e *Env, kind, name string, read map[string]tagged[T], id func(*T) string) (*T, error) {
	return engine.FindOwned(e.Run, engine.Lookup[T]{
		Kind: kind, Name: name,
		ByName: func() (*T, error) {
			if r, ok := read[name]; ok {
				return &r.item, nil
			}
			return nil, nil
		},
		Tags: func(*T) (map[string]string, error) { return read[name].tags, nil },
		ID:   id,
	})
}

// withTags pairs each resource a per-run read found with its tags, by name. The tags come from
// the run's tagging index where it has them (tagsByARN), else from listTags.
func withTags[T any](ctx context.Context, e *Env, items []T, name, arn func(T) string, listTags func(T) (map[string]string, error)) (map[string]tagged[T], error) {
	// The tags of each, read side by side where the tagging index does not hold them.
	tags := make([]map[string]string, len(items))
	if err := eachAtOnce(len(items), func(i int) (err error) {
		tags[i], err = tagsByARN(ctx, e, arn(items[i]), func() (map[string]string, error) { return listTags(items[i]) })
		return err
	}); err != nil {
		return nil, err
	}
	found := make(map[string]tagged[T], len(items))
	for i, item := range items {
		found[name(item)] = tagged[T]{item, tags[i]}
	}
	return found, nil
}

// describeByNames reads resources by name, one call per batch. ECR and ELB refuse a whole batch
// when one of its names is missing: then each name of it is read alone, a missing one skipped.
// kind and kinds name the resource in errors ("target group", "target groups").
func describeByNames(batches [][]string, kind, kinds string, describe func(names []string) error) error {
	for _, batch := range batches {
		err := describe(batch)
		if err == nil {
			continue
		}
		if !cloud.IsNotFound(err) {
			return fmt.Errorf("describing %s %v: %w", kinds, batch, err)
		}
		for _, name := range batch {
			if err := describe([]string{name}); err != nil && !cloud.IsNotFound(err) {
				return fmt.Errorf("describing %s %s: %w", kind, name, err)
			}
		}
	}
	return nil
}

// recordCreated records a resource just made, then counts it as created: the state file first,
// so that a run killed in between finds it again by its ID.
func recordCreated(e *Env, key string, res state.Resource, resource, id string) error {
	if err := e.Record(key, res); err != nil {
		return err
	}
	e.Created(resource, id)
	return nil
}

// convergeNamed is the Up of a resource whose spec is all in one create and one update call:
// created and recorded when missing (have nil), else recorded, and corrected when drift names
// what differs ("" when nothing does).
func convergeNamed(e *Env, key, resource string, have *state.Resource, create func() (state.Resource, error), drift string, correct func() error) error {
	if have == nil {
		res, err := create()
		if err != nil {
			return err
		}
		return recordCreated(e, key, res, resource, res.ID)
	}
	if err := e.Record(key, *have); err != nil {
		return err
	}
	if drift == "" {
		e.Unchanged(resource, have.ID)
		return nil
	}
	if err := correct(); err != nil {
		return err
	}
	e.Updated(resource, have.ID, drift)
	return nil
}

// changeReport says what Up did to one resource: each correction as it is made, else that the
// resource is up to date. A resource this run created reports neither: "created" says it all.
type changeReport struct {
	e            *Env
	resource, id string
	fresh        bool
	changed      bool
}

func (r *changeReport) corrected(what string) {
	r.changed = true
	if !r.fresh {
		r.e.Updated(r.resource, r.id, what)
	}
}

func (r *changeReport) done() {
	if !r.fresh && !r.changed {
		r.e.Unchanged(r.resource, r.id)
	}
}

// deleteThenForget is a step's Down once it has looked its resource up: when found, del deletes
// it (an answer that it is already gone counts as deleted) and the run reports it; then the
// state file forgets key. resource names it in the error and the summary, id in the log.
func deleteThenForget(e *Env, key string, found bool, resource, id string, del func() error) error {
	if found {
		if err := del(); err != nil && !cloud.IsNotFound(err) {
			return fmt.Errorf("deleting %s: %w", resource, err)
		}
		e.Deleted(resource, id)
	}
	return e.Forget(key)
}

// retryWhileInUse makes a delete call again while AWS answers one of busy (something still
// uses the resource: a virtual service naming a node, an ECS service's instances), until
// budget runs out. Its error is the call's, for deleteThenForget to wrap once.
func retryWhileInUse(ctx context.Context, resource string, budget time.Duration, busy []string, call func(context.Context) error) error {
	return cloud.Retry(ctx, "deleting "+resource, budget, cloud.RetryOn(busy...), call)
}
