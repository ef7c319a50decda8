package provision

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// An overlay's routing is a listener of its own on the base load balancer, on a port from
// OverlayPorts, chosen free at its first up and remembered (state file, and TagPort on the
// listener, so a lost state finds it again). It carries the same path rules and fixed 404 as
// an isolated environment's :80 listener. The base's load balancer security group admits the
// port while the overlay holds it: one rule, described as the overlay's (security_groups.go).

// OverlayPorts is the range overlay listener ports are chosen from: a load balancer holds at
// most 50 listeners (AWS's default quota), and the base's :80 is one.
var OverlayPorts = struct{ First, Last int32 }{8001, 8049}

// TagPort on an overlay's listener says its port.
const TagPort = "tapctl:port"

// attrPort records the overlay listener's port beside its ARN.
const attrPort = "port"

// overlayListenerStep owns the overlay's listener and the base security-group rule for its port.
// It takes the :80 listener step's name, which the rule steps depend on.
type overlayListenerStep struct{}

func (overlayListenerStep) Name() string        { return keyListener }
func (overlayListenerStep) DependsOn() []string { return []string{keyALB, keyALBSecurityGroup} }

// baseListeners are every listener of the base load balancer with its tags, once per run.
func baseListeners(ctx context.Context, e *Env) ([]elbtypes.Listener, map[string]map[string]string, error) {
	lb, err := findALB(ctx, e)
	if err != nil || lb == nil {
		return nil, nil, err
	}
	arn := aws.ToString(lb.LoadBalancerArn)
	type read struct {
		listeners []elbtypes.Listener
		tags      map[string]map[string]string
	}
	got, err := engine.Discover(e.Run, "overlay-listeners/"+arn, func() (*read, error) {
		var r read
		p := elbv2.NewDescribeListenersPaginator(e.AWS.ELB, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(arn)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("describing the listeners of %s: %w", arn, err)
			}
			r.listeners = append(r.listeners, page.Listeners...)
		}
		var arns []string
		for _, l := range r.listeners {
			arns = append(arns, aws.ToString(l.ListenerArn))
		}
		if r.tags, err = elbTags(ctx, e, arns...); err != nil {
			return nil, err
		}
		return &r, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return got.listeners, got.tags, nil
}

// findOverlayListener is the overlay's listener on the base load balancer: by the state file's
// ARN, else by the overlay's tags. A listener of another environment is never the overlay's.
func findOverlayListener(ctx context.Context, e *Env) (*elbtypes.Listener, error) {
	listeners, tags, err := baseListeners(ctx, e)
	if err != nil {
		return nil, err
	}
	pick := func(match func(*elbtypes.Listener) bool) []*elbtypes.Listener {
		var out []*elbtypes.Listener
		for i := range listeners {
			if match(&listeners[i]) {
				out = append(out, &listeners[i])
			}
		}
		return out
	}
	return engine.FindOwned(e.Run, engine.Lookup[elbtypes.Listener]{
		Kind: "listener", Name: "of overlay " + e.Name + " on " + e.Names.ALB(), StateID: e.StateID(keyListener),
		ByID: func(arn string) (*elbtypes.Listener, error) {
			found := pick(func(l *elbtypes.Listener) bool { return aws.ToString(l.ListenerArn) == arn })
			if len(found) == 0 {
				return nil, nil
			}
			return found[0], nil
		},
		ByTags: func() ([]*elbtypes.Listener, error) {
			return pick(func(l *elbtypes.Listener) bool { return e.Owns(tags[aws.ToString(l.ListenerArn)]) }), nil
		},
		Tags: func(l *elbtypes.Listener) (map[string]string, error) { return tags[aws.ToString(l.ListenerArn)], nil },
		ID:   func(l *elbtypes.Listener) string { return aws.ToString(l.ListenerArn) },
	})
}

// createOverlayListener creates the overlay's listener on the lowest free port. Two overlays
// made at once may pick the same port: AWS refuses the second (DuplicateListener), which then
// takes the next free one.
func createOverlayListener(ctx context.Context, e *Env, alb string) (*elbtypes.Listener, error) {
	listeners, _, err := baseListeners(ctx, e)
	if err != nil {
		return nil, err
	}
	var taken []int32
	for {
		port, err := freeOverlayPort(listeners, taken)
		if err != nil {
			return nil, err
		}
		tags := append(e.elbTags("overlay-"+e.Name, ""), elbtypes.Tag{Key: aws.String(TagPort), Value: aws.String(strconv.Itoa(int(port)))})
		out, err := e.AWS.ELB.CreateListener(ctx, &elbv2.CreateListenerInput{
			LoadBalancerArn: aws.String(alb), Port: aws.Int32(port), Protocol: elbtypes.ProtocolEnumHttp,
			DefaultActions: notFoundAction(), Tags: tags,
		})
		if cloud.HasCode(err, "DuplicateListener") {
			e.Log.Info().Int32("port", port).Msg("another listener took the port meanwhile; trying the next one")
			taken = append(taken, port)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("creating listener :%d on %s: %w", port, alb, err)
		}
		return &out.Listeners[0], nil
	}
}

// freeOverlayPort is the lowest port of OverlayPorts that no listener of the load balancer
// uses and that is not taken.
func freeOverlayPort(listeners []elbtypes.Listener, taken []int32) (int32, error) {
	used := slices.Clone(taken)
	for _, l := range listeners {
		used = append(used, aws.ToInt32(l.Port))
	}
	for p := OverlayPorts.First; p <= OverlayPorts.Last; p++ {
		if !slices.Contains(used, p) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("every overlay port %d-%d of the base load balancer is taken (%d listeners; AWS allows 50): take an overlay down first",
		OverlayPorts.First, OverlayPorts.Last, len(listeners))
}

// overlayPortRule admits the overlay's port on the base's load balancer group, as the overlay's.
func overlayPortRule(e *Env, port int32) sgRule {
	return sgRule{protocol: "tcp", from: port, to: port, cidr: "0.0.0.0/0", overlay: e.Name}
}

func (overlayListenerStep) Claim(ctx context.Context, e *Env) error {
	_, err := findOverlayListener(ctx, e)
	return err
}

func (overlayListenerStep) Up(ctx context.Context, e *Env) error {
	recorded, err := e.RequireAll(keyALBSecurityGroup, keyALB)
	if err != nil {
		return err
	}
	sg, alb := recorded[0].ID, recorded[1].ID
	l, err := findOverlayListener(ctx, e)
	if err != nil {
		return err
	}
	if l == nil {
		if l, err = createOverlayListener(ctx, e, alb); err != nil {
			return err
		}
		if err := e.recordCreated(keyListener, overlayListenerLabel(aws.ToInt32(l.Port)), overlayListenerRecord(l)); err != nil {
			return err
		}
	} else {
		if err := e.Record(keyListener, overlayListenerRecord(l)); err != nil {
			return err
		}
		if listenerDrifts(l) {
			if _, err := e.AWS.ELB.ModifyListener(ctx, &elbv2.ModifyListenerInput{
				ListenerArn: l.ListenerArn, Protocol: elbtypes.ProtocolEnumHttp, DefaultActions: notFoundAction(),
			}); err != nil {
				return fmt.Errorf("correcting listener %s: %w", aws.ToString(l.ListenerArn), err)
			}
			e.Updated(overlayListenerLabel(aws.ToInt32(l.Port)), aws.ToString(l.ListenerArn), "default action: fixed 404")
		}
	}
	port := aws.ToInt32(l.Port)
	if _, held, err := baseGroupRules(ctx, e); err != nil {
		return err
	} else if slices.Contains(held, overlayPortRule(e, port)) {
		e.Unchanged(overlayListenerLabel(port), aws.ToString(l.ListenerArn))
		return nil
	}
	if err := authorizeRule(ctx, e, sg, overlayPortRule(e, port)); err != nil {
		return err
	}
	e.Updated("security group "+e.Names.ALBSecurityGroup(), sg, "+"+overlayPortRule(e, port).String()+" for overlay "+e.Name)
	return nil
}

func overlayListenerLabel(port int32) string { return fmt.Sprintf("listener :%d", port) }

func overlayListenerRecord(l *elbtypes.Listener) state.Resource {
	return state.Resource{ID: aws.ToString(l.ListenerArn), Attrs: map[string]string{attrPort: strconv.Itoa(int(aws.ToInt32(l.Port)))}}
}

// baseGroupRules are the base's load balancer group and the rules it holds ("" when it has none).
func baseGroupRules(ctx context.Context, e *Env) (string, []sgRule, error) {
	g, err := securityGroupStep{kind: "alb"}.find(ctx, e.base)
	if err != nil || g == nil {
		return "", nil, err
	}
	return aws.ToString(g.GroupId), flattenRules(g), nil
}

// Down revokes the port's rule, then deletes the listener; the base keeps everything else.
func (overlayListenerStep) Down(ctx context.Context, e *Env) error {
	l, err := findOverlayListener(ctx, e)
	if err != nil {
		return err
	}
	if l != nil {
		group, held, err := baseGroupRules(ctx, e)
		if err != nil {
			return err
		}
		if rule := overlayPortRule(e, aws.ToInt32(l.Port)); slices.Contains(held, rule) {
			if err := revokeRule(ctx, e, group, rule); err != nil {
				return err
			}
		}
	}
	return removeFound(e, keyListener, "listener of overlay "+e.Name, l, nil, func(l *elbtypes.Listener) string { return aws.ToString(l.ListenerArn) }, func(arn string) error {
		_, err := e.AWS.ELB.DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: aws.String(arn)})
		return goneIsDone("deleting listener "+arn, err)
	})
}

func (overlayListenerStep) Inspect(ctx context.Context, e *Env) []Status {
	l, err := findOverlayListener(ctx, e)
	return []Status{{Resource: "listener of overlay " + e.Name, StateID: e.StateID(keyListener),
		AWS: engine.Observe(err, l != nil, func() string { return fmt.Sprintf("%s :%d", l.Protocol, aws.ToInt32(l.Port)) })}}
}

// OverlayURL is an overlay's address, http://DNS:PORT, from its state; "" until up made it.
func OverlayURL(st *state.Store) string {
	lb, _ := st.Get(keyALB)
	l, _ := st.Get(keyListener)
	if lb.Attrs[attrDNS] == "" || l.Attrs[attrPort] == "" {
		return ""
	}
	return "http://" + lb.Attrs[attrDNS] + ":" + l.Attrs[attrPort]
}
