package provision

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

// discover runs read once per run for kind and hands every caller its answer.
func discover[T any](e *Env, kind string, read func() (T, error)) (T, error) {
	d := e.discovery
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

// chunks splits names for APIs that take a bounded list.
func chunks(names []string, size int) [][]string {
	var out [][]string
	for len(names) > size {
		out = append(out, names[:size])
		names = names[size:]
	}
	if len(names) > 0 {
		out = append(out, names)
	}
	return out
}
