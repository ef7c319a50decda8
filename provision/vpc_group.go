package provision

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tapctl/tapctl/engine"
)

// vpcGroup is a step's several resources of one kind in the VPC, one per key: the six subnets,
// the two route tables. Their Down and Inspect share this shape.
type vpcGroup[K comparable, T any] struct {
	keys     []K
	find     func(vpcID string) (map[K]*T, error) // the environment's, by key (ownedInVPC)
	stateKey func(K) string
	label    func(K) string // "subnet microservices-public-1-pr1", for the summary and status
	id       func(*T) string
}

// removeEach is the group's Down: each one found is removed and said deleted, side by side (the
// members hold nothing of each other, and AWS takes the deletes at once); every key leaves the
// state file, found or not (nothing is left to find once the VPC is gone).
func (g vpcGroup[K, T]) removeEach(ctx context.Context, e *Env, order []K, remove func(r *T, id string) error) error {
	vpc, err := findVPC(ctx, e)
	if err != nil {
		return err
	}
	var found map[K]*T
	if vpc != nil {
		if found, err = g.find(aws.ToString(vpc.VpcId)); err != nil {
			return err
		}
	}
	return eachAtOnce(len(order), func(i int) error {
		r := found[order[i]]
		return removeFound(e, g.stateKey(order[i]), g.label(order[i]), r, nil, g.id, func(id string) error { return remove(r, id) })
	})
}

// inspectEach is the group's Inspect, in the VPC the state file names; held says what AWS holds
// of one found.
func (g vpcGroup[K, T]) inspectEach(e *Env, held func(*T) string) []Status {
	var found map[K]*T
	var err error
	if vpcID := e.StateID(keyVPC); vpcID != "" {
		found, err = g.find(vpcID)
	}
	var out []Status
	for _, k := range g.keys {
		r := found[k]
		out = append(out, Status{Resource: g.label(k), StateID: e.StateID(g.stateKey(k)),
			AWS: engine.Observe(err, r != nil, func() string { return held(r) })})
	}
	return out
}
