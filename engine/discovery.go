package engine

import (
	"sync"
)

// discovery makes each kind of read once per run, shared by every step of that kind: one
// DescribeTargetGroups for all target groups, one DescribeServices for all services, and so on,
// instead of one or more describes per resource. It holds what AWS said when the run began;
// each step then changes only its own resource.
type discovery struct {
	mu        sync.Mutex
	lookups   map[string]*lookupResult
	leftAlone map[string]bool // foreign resources down left alone, said once
}

func newDiscovery() *discovery { return &discovery{lookups: map[string]*lookupResult{}} }

type lookupResult struct {
	once  sync.Once
	value any
	err   error
}

// Discover runs read once per run for kind and hands every caller its answer.
func Discover[T any](r *Run, kind string, read func() (T, error)) (T, error) {
	d := r.discovery
	d.mu.Lock()
	l, ok := d.lookups[kind]
	if !ok {
		l = &lookupResult{}
		d.lookups[kind] = l
	}
	d.mu.Unlock()
	l.once.Do(func() { l.value, l.err = read() })
	if l.err != nil {
		var zero T
		return zero, l.err
	}
	return l.value.(T), nil
}

// noteLeftAlone reports whether this is the first time the run leaves resource alone.
func (d *discovery) noteLeftAlone(resource string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.leftAlone == nil {
		d.leftAlone = map[string]bool{}
	}
	first := !d.leftAlone[resource]
	d.leftAlone[resource] = true
	return first
}
