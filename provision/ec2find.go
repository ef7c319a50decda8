package provision

import (
	"fmt"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
)

// ec2Find says how to find one of the environment's EC2 resources that its tags alone tell
// apart (the VPC, the internet gateway, the Elastic IP, the NAT gateway): by the state file's
// ID, then by the environment's tags and its Name.
type ec2Find[T any] struct {
	kind     string // "VPC": names it in messages
	name     string // its Name tag
	stateKey string // its key in the state file, and in the run's reads
	// describe is the kind's describe call, by IDs or by filters (the other argument nil).
	describe func(ids []string, filters []ec2types.Filter) ([]T, error)
	// filters are asked for beside the ownership tags, and live checks on the answer what they
	// ask (some implementations ignore filters); nil: every one found counts.
	filters []ec2types.Filter
	live    func(*T) bool
	tags    func(*T) []ec2types.Tag
	id      func(*T) string
}

// findEC2 looks the resource up once per run (engine.Discover) and proves it is the
// environment's (engine.FindOwned); nil means none exists.
func findEC2[T any](e *Env, f ec2Find[T]) (*T, error) {
	return engine.Discover(e.Run, f.stateKey, func() (*T, error) {
		return engine.FindOwned(e.Run, ec2Lookup(e, f))
	})
}

// ec2Lookup is how engine.FindOwned reads f's resource: one describe by ID (none, or one not
// live, is nil), or one by the owned filters.
func ec2Lookup[T any](e *Env, f ec2Find[T]) engine.Lookup[T] {
	return engine.Lookup[T]{
		Kind: f.kind, Name: f.name, StateID: e.StateID(f.stateKey),
		ByID: func(id string) (*T, error) {
			found, err := f.describe([]string{id}, nil)
			if cloud.IsNotFound(err) || err == nil && (len(found) != 1 || !f.isLive(&found[0])) {
				return nil, nil
			}
			if err != nil {
				return nil, fmt.Errorf("describing %s %s: %w", f.kind, id, err)
			}
			return &found[0], nil
		},
		ByTags: func() ([]*T, error) {
			found, err := f.describe(nil, append(e.ec2OwnedFilters(f.name), f.filters...))
			if err != nil {
				return nil, fmt.Errorf("looking up %s %s by tags: %w", f.kind, f.name, err)
			}
			var kept []*T
			for i := range found {
				if f.isLive(&found[i]) && e.ec2Owned(f.tags(&found[i]), f.name) {
					kept = append(kept, &found[i])
				}
			}
			return kept, nil
		},
		Tags: func(r *T) (map[string]string, error) { return ec2TagMap(f.tags(r)), nil },
		ID:   f.id,
	}
}

func (f ec2Find[T]) isLive(r *T) bool { return f.live == nil || f.live(r) }

// listed is what an EC2 describe call answered, picked out of its output by list.
func listed[Out, T any](out *Out, err error, list func(*Out) []T) ([]T, error) {
	if err != nil {
		return nil, err
	}
	return list(out), nil
}

// ec2Among says how to pick one of the environment's resources out of a listing the step read
// in one call (a VPC's subnets, route tables or security groups): by the state file's ID, then
// by what holds its name. What is picked must be the environment's (engine.FindOwned).
type ec2Among[T any] struct {
	kind, label string // "subnet", and its name as messages give it
	stateKey    string // "" when the state file's ID does not find it (a group is found by name)
	// named match what holds the name, tried in order: its Name tag, then what else can only
	// be the one (a subnet's CIDR).
	named []func(*T) bool
	tags  func(*T) []ec2types.Tag
	id    func(*T) string
}

// findAmong picks f's resource out of items; nil when none is there.
func findAmong[T any](e *Env, items []T, f ec2Among[T]) (*T, error) {
	pick := func(match func(*T) bool) *T {
		for i := range items {
			if match(&items[i]) {
				return &items[i]
			}
		}
		return nil
	}
	l := engine.Lookup[T]{
		Kind: f.kind, Name: f.label,
		ByName: func() (*T, error) {
			for _, match := range f.named {
				if found := pick(match); found != nil {
					return found, nil
				}
			}
			return nil, nil
		},
		Tags: func(r *T) (map[string]string, error) { return ec2TagMap(f.tags(r)), nil },
		ID:   f.id,
	}
	if f.stateKey != "" {
		l.StateID = e.StateID(f.stateKey)
		l.ByID = func(id string) (*T, error) { return pick(func(r *T) bool { return f.id(r) == id }), nil }
	}
	return engine.FindOwned(e.Run, l)
}

// nameTagIs matches an EC2 resource by its Name tag.
func nameTagIs[T any](name string, tags func(*T) []ec2types.Tag) func(*T) bool {
	return func(r *T) bool { return ec2TagValue(tags(r), TagName) == name }
}

// findEachAmong picks one resource per key out of items (findAmong); the map holds those found.
func findEachAmong[K comparable, T any](e *Env, items []T, keys []K, among func(K) ec2Among[T]) (map[K]*T, error) {
	found := map[K]*T{}
	for _, k := range keys {
		r, err := findAmong(e, items, among(k))
		if err != nil {
			return nil, err
		}
		if r != nil {
			found[k] = r
		}
	}
	return found, nil
}

// ownedInVPC lists one kind of the VPC's resources in one describe call, once per run (key
// names the read), and picks the environment's out of the listing with match.
func ownedInVPC[K comparable, T any](e *Env, key, what, vpcID string, describe func() ([]T, error), match func(*Env, []T) (map[K]*T, error)) (map[K]*T, error) {
	return engine.Discover(e.Run, key+"/"+vpcID, func() (map[K]*T, error) {
		items, err := describe()
		if err != nil {
			return nil, fmt.Errorf("describing %s of VPC %s: %w", what, vpcID, err)
		}
		return match(e, items)
	})
}
