package provision

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/naming"
	"github.com/tapctl/tapctl/state"
)

// Env is everything a step needs: who and where, the clients, the state, the catalog.
type Env struct {
	Name    string
	Names   naming.Names
	Region  string
	Account string
	// Partition is the caller's ARN partition: aws, aws-cn or aws-us-gov.
	Partition string
	AWS       *cloud.Clients
	State     *state.Store
	Catalog   []catalog.Service
	Log       zerolog.Logger
	Timeouts  Timeouts
	Wait      bool // wait for ECS services to run their desired count (false with --no-wait)
	// Progress, when set, hears of every step as it starts and ends (a terminal's live lines).
	Progress Progress

	summary   *Summary
	discovery *discovery
	// plannedDeletes, in a plan only, are the IDs of resources up would delete first.
	plannedDeletes map[string]bool
	// destroying: a foreign resource found by name is left alone rather than refused.
	destroying bool
}

// Timeouts bound every wait on AWS's asynchronous work.
type Timeouts struct {
	NATGateway   time.Duration // pending -> available, deleting -> deleted: minutes on AWS
	Dependencies time.Duration // DependencyViolation while ENIs of deleted owners linger
	Services     time.Duration // ECS services reaching their desired count (--timeout)
}

// DefaultTimeouts are generous for AWS; the emulator answers at once.
func DefaultTimeouts() Timeouts {
	return Timeouts{NATGateway: 10 * time.Minute, Dependencies: 20 * time.Minute, Services: 20 * time.Minute}
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

// NewEnv assembles an Env; the summary starts empty.
func NewEnv(name string) *Env {
	return &Env{Name: name, Names: naming.Names{Env: name}, Timeouts: DefaultTimeouts(), summary: &Summary{}, Log: zerolog.Nop(),
		discovery: newDiscovery()}
}

// Summary returns what this run changed so far.
func (e *Env) Summary() *Summary { return e.summary }

// ForStep returns a copy of e whose log lines name the step.
func (e *Env) ForStep(step string) *Env {
	c := *e
	c.Log = e.Log.With().Str("step", step).Logger()
	return &c
}

// Created, Updated and Deleted log a change at info level and count it: the user sees
// exactly what tapctl does to their account.
func (e *Env) Created(resource, id string) {
	e.Log.Info().Str("id", id).Msgf("created %s", resource)
	e.summary.add(&e.summary.Created, resource)
}

func (e *Env) Updated(resource, id, what string) {
	e.Log.Info().Str("id", id).Str("change", what).Msgf("updated %s", resource)
	e.summary.add(&e.summary.Updated, resource)
}

func (e *Env) Deleted(resource, id string) {
	e.Log.Info().Str("id", id).Msgf("deleted %s", resource)
	e.summary.add(&e.summary.Deleted, resource)
}

func (e *Env) Unchanged(resource, id string) {
	e.Log.Debug().Str("id", id).Msgf("%s is up to date", resource)
	e.summary.add(&e.summary.Unchanged, resource)
}

// Record writes a resource's ID to the state file. Steps call it right after the create call
// returns, before any other call, so a run killed at any instant is resumed without a duplicate.
func (e *Env) Record(key string, r state.Resource) error {
	return e.State.Put(key, r)
}

// Forget removes a resource from the state file once AWS no longer has it.
func (e *Env) Forget(key string) error {
	return e.State.Delete(key)
}

// StateID is the ID the state file holds for key, or "".
func (e *Env) StateID(key string) string {
	r, _ := e.State.Get(key)
	return r.ID
}

// Require returns the recorded resource a step depends on, or says which step must run first.
func (e *Env) Require(key string) (state.Resource, error) {
	r, ok := e.State.Get(key)
	if !ok {
		return state.Resource{}, fmt.Errorf("%s of environment %s is not in the state file; run up", key, e.Name)
	}
	return r, nil
}

// Waits poll AWS between these delays: describe calls are cheap, and a low ceiling means a run
// notices within seconds that a NAT gateway, load balancer or service is ready.
const (
	pollMinDelay = time.Second
	pollMaxDelay = 3 * time.Second
)
