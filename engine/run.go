package engine

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/rs/zerolog"

	"github.com/tapctl/tapctl/state"
)

// Run is the part of a step's environment that belongs to the run rather than to the platform:
// which environment, where, the log, the state file, what the run changed and what it read.
// The platform's environment embeds it; the engine copies it to give a step its own log, fresh
// reads, or a plan's scratch state.
type Run struct {
	// Name is the environment's name, as its Environment tag says.
	Name    string
	Region  string
	Account string
	Log     zerolog.Logger
	State   *state.Store
	Wait    bool // wait for the platform to serve (false with --no-wait, and in a plan)
	// Progress, when set, hears of every step as it starts and ends (a terminal's live lines).
	Progress Progress

	summary   *Summary
	discovery *discovery
	// plannedDeletes, in a plan only, are the IDs of resources up would delete first.
	plannedDeletes map[string]bool
	// destroying: a foreign resource found by name is left alone rather than refused.
	destroying bool
}

// NewRun starts a run for the environment name; its summary starts empty.
func NewRun(name string) *Run {
	return &Run{Name: name, Log: zerolog.Nop(), summary: &Summary{}, discovery: newDiscovery()}
}

// Progress observes the engine's steps. Steps run concurrently: the methods are called from
// several goroutines at once.
type Progress interface {
	StepStarted(step string)
	StepDone(step string, err error)
}

// Summary counts what a run changed, one entry per resource: a resource created and then
// corrected in the same run counts as created, one changed by several calls as updated once,
// so the counts are the ones plan shows beforehand.
type Summary struct {
	mu                                   sync.Mutex
	Created, Updated, Deleted, Unchanged []string
	deletedIDs                           map[string]bool
}

// DeletedID reports whether this run deleted the resource of that ID (or ARN).
func (s *Summary) DeletedID(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deletedIDs[id]
}

func (s *Summary) add(list *[]string, item string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.Contains(*list, item) || list == &s.Updated && slices.Contains(s.Created, item) {
		return
	}
	*list = append(*list, item)
}

// Changes is how many resources this run created, updated or deleted so far.
func (s *Summary) Changes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.Created) + len(s.Updated) + len(s.Deleted)
}

// Changed reports whether this run created or updated a resource whose description starts with prefix.
func (s *Summary) Changed(prefix string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, list := range [][]string{s.Created, s.Updated} {
		for _, item := range list {
			if strings.HasPrefix(item, prefix) {
				return true
			}
		}
	}
	return false
}

// Summary returns what this run changed so far.
func (r *Run) Summary() *Summary { return r.summary }

// Created, Updated and Deleted log a change at info level and count it: the user sees
// exactly what tapctl does to their account.
func (r *Run) Created(resource, id string) {
	r.Log.Info().Str("id", id).Msgf("created %s", resource)
	r.summary.add(&r.summary.Created, resource)
}

func (r *Run) Updated(resource, id, what string) {
	r.Log.Info().Str("id", id).Str("change", what).Msgf("updated %s", resource)
	r.summary.add(&r.summary.Updated, resource)
}

func (r *Run) Deleted(resource, id string) {
	r.Log.Info().Str("id", id).Msgf("deleted %s", resource)
	r.summary.add(&r.summary.Deleted, resource)
	r.summary.mu.Lock()
	defer r.summary.mu.Unlock()
	if r.summary.deletedIDs == nil {
		r.summary.deletedIDs = map[string]bool{}
	}
	r.summary.deletedIDs[id] = true
}

func (r *Run) Unchanged(resource, id string) {
	r.Log.Debug().Str("id", id).Msgf("%s is up to date", resource)
	r.summary.add(&r.summary.Unchanged, resource)
}

// Record writes a resource's ID to the state file. Steps call it right after the create call
// returns, before any other call, so a run killed at any instant is resumed without a duplicate.
func (r *Run) Record(key string, res state.Resource) error {
	return r.State.Put(key, res)
}

// Forget removes a resource from the state file once AWS no longer has it.
func (r *Run) Forget(key string) error {
	return r.State.Delete(key)
}

// StateID is the ID the state file holds for key, or "".
func (r *Run) StateID(key string) string {
	res, _ := r.State.Get(key)
	return res.ID
}

// Require returns the recorded resource a step depends on, or says which step must run first.
func (r *Run) Require(key string) (state.Resource, error) {
	res, ok := r.State.Get(key)
	if !ok {
		return state.Resource{}, fmt.Errorf("%s of environment %s is not in the state file; run up", key, r.Name)
	}
	return res, nil
}

// RequireAll returns the recorded resources of keys, in their order, or says which step must
// run first: the first missing key in that order. Callers list keys in run order, so the error
// names the earliest step missing, the same one on every run.
func (r *Run) RequireAll(keys ...string) ([]state.Resource, error) {
	out := make([]state.Resource, len(keys))
	for i, key := range keys {
		res, err := r.Require(key)
		if err != nil {
			return nil, err
		}
		out[i] = res
	}
	return out, nil
}

// DeletedInPlan says whether a plan counts the resource with this ID as deleted by then: up
// deletes removed services' resources before anything else, so a new service may reuse what
// one of them held (its rule priority).
func (r *Run) DeletedInPlan(id string) bool { return r.plannedDeletes[id] }

// ForgetReads drops what this run has read of AWS so far: every environment on this run reads
// afresh (after up removed services, what it read before no longer holds).
func (r *Run) ForgetReads() { r.discovery = newDiscovery() }

// withRun is a copy of e on a copy of its run, changed by change.
func withRun[E Env[E]](e E, change func(*Run)) E {
	r := *e.EngineRun()
	change(&r)
	return e.WithRun(&r)
}

// forStep is a copy of e whose log lines name the step.
func forStep[E Env[E]](e E, step string) E {
	return withRun(e, func(r *Run) { r.Log = r.Log.With().Str("step", step).Logger() })
}

// Rediscover is a copy of e whose shared reads (Discover) are made afresh.
func Rediscover[E Env[E]](e E) E {
	return withRun(e, func(r *Run) { r.discovery = newDiscovery() })
}

// ForTeardown is a copy of e for deleting: a resource found by name that is not the
// environment's is left alone (and said so) instead of stopping the run.
func ForTeardown[E Env[E]](e E) E {
	return withRun(e, func(r *Run) { r.destroying = true })
}
