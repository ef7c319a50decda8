package provision

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/naming"
	"github.com/tapctl/tapctl/state"
)

// An overlay environment (up --base NAME) runs on a base environment's VPC, subnets, NAT route,
// ECS cluster and load balancer, and owns everything else: its secret, roles, logs, task
// definitions, target groups, namespace, task security group, services, scaling, alarms,
// dashboard, and a listener of its own on the base load balancer (overlay_listener.go). It
// finds the base by the base's tags, never by the base's state file, so it works from any
// machine; it changes nothing of the base but its own listener and the security-group rule
// that admits the listener's port.

// TagBase marks an overlay's resources with the base they run on: list shows overlays under
// their base, and down of a base finds the overlays that still use it.
const TagBase = "tapctl:base"

// UseBase makes e an overlay of base. Call it once the run knows its region, account and
// clients: the base's resources are found and proven as base's with them, read-only.
func (e *Env) UseBase(base string) {
	r := engine.NewRun(base)
	r.Region, r.Account, r.Log = e.Region, e.Account, e.Log
	r.State = state.Empty(base)
	e.base = &Env{Run: r, Names: naming.Names{Env: base}, Partition: e.Partition, AWS: e.AWS, Timeouts: e.Timeouts}
	e.Names.Base = base
}

// BaseName is the base of an overlay environment, "" for an isolated one.
func (e *Env) BaseName() string { return e.Names.Base }

// borrowed is one kind of the base's resources an overlay uses: found as the base's, recorded
// in the overlay's state under the keys an isolated environment's own step records, so the
// steps that need them read them the same way.
type borrowed struct {
	key   string // the step an isolated environment runs instead, which dependents name
	label string // "VPC", for messages
	find  func(ctx context.Context, base *Env) (map[string]state.Resource, error)
}

// borrowedKinds are what an overlay uses of its base, in run order.
func borrowedKinds() []borrowed {
	return []borrowed{
		{keyVPC, "VPC", func(ctx context.Context, b *Env) (map[string]state.Resource, error) {
			vpc, err := findVPC(ctx, b)
			if err != nil || vpc == nil {
				return nil, err
			}
			return map[string]state.Resource{keyVPC: {ID: aws.ToString(vpc.VpcId)}}, nil
		}},
		{"subnets", "private subnets", func(ctx context.Context, b *Env) (map[string]state.Resource, error) {
			vpc, err := findVPC(ctx, b)
			if err != nil || vpc == nil {
				return nil, err
			}
			found, err := findSubnets(ctx, b, aws.ToString(vpc.VpcId))
			if err != nil {
				return nil, err
			}
			out := map[string]state.Resource{}
			for az := 0; az < AZCount; az++ {
				spec := subnetSpec{Private, az}
				sn := found[spec]
				if sn == nil {
					return nil, nil // all three or none: the base is incomplete
				}
				out[spec.key()] = subnetRecord(sn)
			}
			return out, nil
		}},
		{"route-tables", "private route table", func(ctx context.Context, b *Env) (map[string]state.Resource, error) {
			vpc, err := findVPC(ctx, b)
			if err != nil || vpc == nil {
				return nil, err
			}
			found, err := findRouteTables(ctx, b, aws.ToString(vpc.VpcId))
			if err != nil || found[Private] == nil {
				return nil, err
			}
			return map[string]state.Resource{routeTableKey(Private): {ID: aws.ToString(found[Private].RouteTableId)}}, nil
		}},
		{keyCluster, "ECS cluster", func(ctx context.Context, b *Env) (map[string]state.Resource, error) {
			c, err := findCluster(ctx, b)
			if err != nil || c == nil {
				return nil, err
			}
			return map[string]state.Resource{keyCluster: {ID: aws.ToString(c.ClusterName), ARN: aws.ToString(c.ClusterArn)}}, nil
		}},
		{keyALBSecurityGroup, "load balancer security group", func(ctx context.Context, b *Env) (map[string]state.Resource, error) {
			g, err := securityGroupStep{kind: "alb"}.find(ctx, b)
			if err != nil || g == nil {
				return nil, err
			}
			return map[string]state.Resource{keyALBSecurityGroup: {ID: aws.ToString(g.GroupId)}}, nil
		}},
		{keyALB, "load balancer", func(ctx context.Context, b *Env) (map[string]state.Resource, error) {
			lb, err := findALB(ctx, b)
			if err != nil || lb == nil {
				return nil, err
			}
			return map[string]state.Resource{keyALB: albRecord(lb)}, nil
		}},
	}
}

// CheckBase proves, with read calls only, that the overlay's base exists and is complete, so an
// overlay up is refused before it changes anything rather than halfway.
func CheckBase(ctx context.Context, e *Env) error {
	for _, k := range borrowedKinds() {
		found, err := k.find(ctx, e.base)
		if err != nil {
			return fmt.Errorf("reading the %s of base environment %s: %w", k.label, e.BaseName(), err)
		}
		if found == nil {
			return fmt.Errorf("base environment %s has no %s tagged %s=%s, %s=%s in %s: create it first with tapctl up --env %s",
				e.BaseName(), k.label, engine.TagEnvironment, e.BaseName(), engine.TagManagedBy, engine.ManagedByValue, e.Region, e.BaseName())
		}
	}
	return checkBaseRoom(ctx, e)
}

// AWS's default quotas per Application Load Balancer (Elastic Load Balancing User Guide,
// "Quotas for your Application Load Balancers").
const (
	maxListenersPerALB    = 50
	maxTargetGroupsPerALB = 100
)

// checkBaseRoom refuses an overlay the base load balancer has no room for: a listener more (and
// a free port), and the target groups the overlay's services attach (two each).
func checkBaseRoom(ctx context.Context, e *Env) error {
	mine, err := findOverlayListener(ctx, e)
	if err != nil {
		return err
	}
	listeners, _, err := baseListeners(ctx, e)
	if err != nil {
		return err
	}
	lb, err := findALB(ctx, e)
	if err != nil {
		return err
	}
	attached, err := attachedTargetGroups(ctx, e, aws.ToString(lb.LoadBalancerArn))
	if err != nil {
		return err
	}
	var want []string
	for _, svc := range e.Catalog {
		want = append(want, e.Names.TargetGroup(svc.Name), e.Names.AltTargetGroup(svc.Name))
	}
	need := 0
	for _, name := range want {
		if !slices.Contains(attached, name) {
			need++
		}
	}
	if err := baseRoom(e.Names.ALB(), e.Name, len(listeners), mine != nil, len(attached), need); err != nil {
		return err
	}
	if mine == nil {
		_, err = freeOverlayPort(listeners, nil)
	}
	return err
}

// baseRoom is checkBaseRoom's decision: listeners and target groups the base load balancer
// holds, whether the overlay has its listener already, and how many target groups it adds.
func baseRoom(alb, overlay string, listeners int, hasListener bool, targetGroups, need int) error {
	if !hasListener && listeners >= maxListenersPerALB {
		return fmt.Errorf("base load balancer %s holds %d listeners, the most AWS allows (%d); overlay %s needs one more: take an overlay down first",
			alb, listeners, maxListenersPerALB, overlay)
	}
	if targetGroups+need > maxTargetGroupsPerALB {
		return fmt.Errorf("base load balancer %s holds %d target groups of the %d AWS allows; overlay %s needs %d more (two per service): take an overlay down first",
			alb, targetGroups, maxTargetGroupsPerALB, overlay, need)
	}
	return nil
}

// attachedTargetGroups are the names of the target groups the load balancer's rules and
// listeners forward to.
func attachedTargetGroups(ctx context.Context, e *Env, albARN string) ([]string, error) {
	var names []string
	p := elbv2.NewDescribeTargetGroupsPaginator(e.AWS.ELB, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(albARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if cloud.IsNotFound(err) {
			return names, nil // none
		}
		if err != nil {
			return nil, fmt.Errorf("listing the target groups of %s: %w", albARN, err)
		}
		for _, tg := range page.TargetGroups {
			names = append(names, aws.ToString(tg.TargetGroupName))
		}
	}
	return names, nil
}

// borrowedStep records one borrowed kind in the overlay's state; down only forgets it.
type borrowedStep struct{ borrowed }

func (s borrowedStep) Name() string      { return s.key }
func (borrowedStep) DependsOn() []string { return nil }

// Claim proves what it finds the base's (the base's lookups do); CheckBase refuses a missing one.
func (s borrowedStep) Claim(ctx context.Context, e *Env) error {
	_, err := s.find(ctx, e.base)
	return err
}

func (s borrowedStep) Up(ctx context.Context, e *Env) error {
	found, err := s.find(ctx, e.base)
	if err != nil {
		return err
	}
	if found == nil {
		return fmt.Errorf("base environment %s has no %s: create it first with tapctl up --env %s", e.BaseName(), s.label, e.BaseName())
	}
	for _, key := range slices.Sorted(maps.Keys(found)) {
		if err := e.Record(key, found[key]); err != nil {
			return err
		}
	}
	return nil
}

// Down forgets the base's resources: they are the base's to delete.
func (s borrowedStep) Down(_ context.Context, e *Env) error {
	for _, key := range e.State.Keys() {
		if key == s.key || s.key == "subnets" && isSubnetKey(key) || s.key == "route-tables" && key == routeTableKey(Private) {
			if err := e.Forget(key); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s borrowedStep) Inspect(ctx context.Context, e *Env) []Status {
	found, err := s.find(ctx, e.base)
	return []Status{{Resource: s.label + " of base " + e.BaseName(), StateID: e.StateID(s.key),
		AWS: engine.Observe(err, found != nil, func() string { return "borrowed" })}}
}

func isSubnetKey(key string) bool {
	for _, spec := range allSubnets() {
		if spec.key() == key {
			return true
		}
	}
	return false
}

// OverlaysOf lists the overlay environments that use e as their base now: the environments of
// the listeners on e's load balancer tagged as an overlay's of e (read calls only).
func OverlaysOf(ctx context.Context, e *Env) ([]string, error) {
	ports, err := overlayPorts(ctx, e)
	var foreign *engine.ForeignError
	if errors.As(err, &foreign) {
		return nil, nil // not the environment's load balancer: no overlay of it; the claims say why
	}
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(ports)), nil
}

// overlayPorts are the overlays of e that hold a listener on e's load balancer, with its port.
func overlayPorts(ctx context.Context, e *Env) (map[string]int32, error) {
	if e.base != nil {
		return nil, nil // an overlay is nobody's base
	}
	listeners, tags, err := baseListeners(ctx, e)
	if err != nil {
		return nil, err
	}
	out := map[string]int32{}
	for _, l := range listeners {
		t := tags[aws.ToString(l.ListenerArn)]
		if t[engine.TagManagedBy] == engine.ManagedByValue && t[TagBase] == e.Name && t[engine.TagEnvironment] != "" {
			out[t[engine.TagEnvironment]] = aws.ToInt32(l.Port)
		}
	}
	return out, nil
}

// DiscoverBase is the base of an overlay environment whose state file holds nothing (made on
// another machine, or lost): the TagBase tag of any of its resources in the tagging index;
// "" for an isolated environment or one with nothing left.
func DiscoverBase(ctx context.Context, e *Env) string {
	for _, tags := range taggedIndex(ctx, e) {
		if b := tags[TagBase]; b != "" && e.Owns(tags) {
			return b
		}
	}
	return ""
}
