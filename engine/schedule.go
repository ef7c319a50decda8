package engine

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// schedule runs fn for every step once all of its prerequisites are done, at most parallelism
// at a time. order is a valid run order and the tie-break: with parallelism 1 the steps run
// exactly in that order. With more, when more steps are ready than there is room for, the one
// with the longest chain of steps still waiting on it starts first (list scheduling by critical
// path): a step off the critical path never holds up one on it. After the first failure no new
// step starts; those running finish, and every failure is returned, as *StepsFailed.
func schedule[E any](ctx context.Context, order []Step[E], prerequisites map[string][]string, parallelism int, fn func(context.Context, Step[E]) error) error {
	if parallelism < 1 {
		parallelism = 1
	}
	remaining := map[string]int{}
	dependents := map[string][]string{}
	for _, s := range order {
		remaining[s.Name()] = len(prerequisites[s.Name()])
		for _, p := range prerequisites[s.Name()] {
			dependents[p] = append(dependents[p], s.Name())
		}
	}
	type result struct {
		step string
		err  error
	}
	if parallelism > 1 {
		order = longestChainFirst(order, dependents)
	}
	results := make(chan result)
	started, running := map[string]bool{}, 0
	var errs []*StepError
	var wg sync.WaitGroup
	for {
		// Start every ready step, in order, while there is room and nothing has failed.
		for _, s := range order {
			if running >= parallelism || len(errs) > 0 || ctx.Err() != nil {
				break
			}
			if started[s.Name()] || remaining[s.Name()] > 0 {
				continue
			}
			started[s.Name()] = true
			running++
			wg.Add(1)
			go func(s Step[E]) {
				defer wg.Done()
				results <- result{s.Name(), fn(ctx, s)}
			}(s)
		}
		if running == 0 {
			break
		}
		r := <-results
		running--
		if r.err != nil {
			errs = append(errs, &StepError{Step: r.step, Err: r.err})
			continue
		}
		for _, d := range dependents[r.step] {
			remaining[d]--
		}
	}
	wg.Wait()
	if len(errs) == 0 && ctx.Err() != nil {
		return ctx.Err()
	}
	if len(errs) == 0 && len(started) < len(order) {
		return fmt.Errorf("%d steps could not start", len(order)-len(started))
	}
	if len(errs) > 0 {
		return &StepsFailed{Failures: errs}
	}
	return nil
}

// longestChainFirst orders steps by the length of the longest chain of steps that wait on each
// (itself included), longest first; order breaks ties.
func longestChainFirst[E any](order []Step[E], dependents map[string][]string) []Step[E] {
	chain := map[string]int{}
	var length func(string) int
	length = func(name string) int {
		if n, ok := chain[name]; ok {
			return n
		}
		n := 1
		for _, d := range dependents[name] {
			n = max(n, 1+length(d))
		}
		chain[name] = n
		return n
	}
	out := slices.Clone(order)
	slices.SortStableFunc(out, func(a, b Step[E]) int { return length(b.Name()) - length(a.Name()) })
	return out
}

// prerequisitesUp: a step waits for the steps it depends on.
func prerequisitesUp[E any](steps []Step[E]) map[string][]string {
	m := map[string][]string{}
	for _, s := range steps {
		m[s.Name()] = s.DependsOn()
	}
	return m
}

// prerequisitesDown: a step is deleted only after every step that depends on it (in teardown's
// sense: DownDependsOn).
func prerequisitesDown[E any](steps []Step[E]) map[string][]string {
	m := map[string][]string{}
	for _, s := range steps {
		for _, d := range DownDependsOn(s) {
			m[d] = append(m[d], s.Name())
		}
	}
	return m
}

// downOrdered is a step whose teardown order is not the reverse of its DependsOn: what it needed
// to be made need not outlive it, or more than that must.
type downOrdered interface {
	// DownDependsOn names the steps that are deleted only after this one.
	DownDependsOn() []string
}

// DownDependsOn names the steps deleted only after s: its DownDependsOn when it has one, else
// its DependsOn.
func DownDependsOn[E any](s Step[E]) []string {
	if d, ok := any(s).(downOrdered); ok {
		return d.DownDependsOn()
	}
	return s.DependsOn()
}
