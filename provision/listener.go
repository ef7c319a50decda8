package provision

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// listenerStep owns the HTTP :80 listener whose default answer is a plain 404 (SPEC row 13):
// only the catalog's paths reach a service.
type listenerStep struct{}

func (listenerStep) Name() string        { return keyListener }
func (listenerStep) DependsOn() []string { return []string{keyALB} }

func notFoundAction() []elbtypes.Action {
	return []elbtypes.Action{{
		Type: elbtypes.ActionTypeEnumFixedResponse,
		FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
			StatusCode: aws.String("404"), ContentType: aws.String("text/plain"), MessageBody: aws.String("Not Found"),
		},
	}}
}

func isNotFoundAction(actions []elbtypes.Action) bool {
	if len(actions) != 1 || actions[0].Type != elbtypes.ActionTypeEnumFixedResponse || actions[0].FixedResponseConfig == nil {
		return false
	}
	c := actions[0].FixedResponseConfig
	return aws.ToString(c.StatusCode) == "404" && aws.ToString(c.ContentType) == "text/plain" && aws.ToString(c.MessageBody) == "Not Found"
}

// listenerDrifts says whether the :80 listener needs correcting: it must speak HTTP and answer
// what no rule takes with the plain 404.
func listenerDrifts(l *elbtypes.Listener) bool {
	return l.Protocol != elbtypes.ProtocolEnumHttp || !isNotFoundAction(l.DefaultActions)
}

// findListener reads the listeners of the environment's load balancer and picks the HTTP :80
// one (by the state file's ARN, else by its port), once per run.
func findListener(ctx context.Context, e *Env) (*elbtypes.Listener, error) {
	if e.base != nil { // an overlay's listener is its own port's (overlay_listener.go)
		return findOverlayListener(ctx, e)
	}
	albARN := e.StateID(keyALB)
	lb, err := findALB(ctx, e)
	if err != nil {
		return nil, err
	}
	if lb != nil {
		albARN = aws.ToString(lb.LoadBalancerArn)
	}
	if albARN == "" {
		return nil, nil
	}
	return engine.Discover(e.Run, "listener/"+albARN, func() (*elbtypes.Listener, error) {
		out, err := e.AWS.ELB.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(albARN)})
		if cloud.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("describing listeners of %s: %w", albARN, err)
		}
		pick := func(match func(*elbtypes.Listener) bool) (*elbtypes.Listener, error) {
			for i := range out.Listeners {
				if match(&out.Listeners[i]) {
					return &out.Listeners[i], nil
				}
			}
			return nil, nil
		}
		return engine.FindOwned(e.Run, engine.Lookup[elbtypes.Listener]{
			Kind: "listener", Name: ":80 of " + e.Names.ALB(), StateID: e.StateID(keyListener),
			ByID: func(arn string) (*elbtypes.Listener, error) {
				return pick(func(l *elbtypes.Listener) bool { return aws.ToString(l.ListenerArn) == arn })
			},
			ByName: func() (*elbtypes.Listener, error) {
				return pick(func(l *elbtypes.Listener) bool { return aws.ToInt32(l.Port) == 80 })
			},
			Tags: func(l *elbtypes.Listener) (map[string]string, error) {
				all, err := elbTags(ctx, e, aws.ToString(l.ListenerArn))
				return all[aws.ToString(l.ListenerArn)], err
			},
			ID: func(l *elbtypes.Listener) string { return aws.ToString(l.ListenerArn) },
		})
	})
}

func (listenerStep) Claim(ctx context.Context, e *Env) error {
	_, err := findListener(ctx, e)
	return err
}

func (listenerStep) Up(ctx context.Context, e *Env) error {
	alb, err := e.Require(keyALB)
	if err != nil {
		return err
	}
	l, err := findListener(ctx, e)
	if err != nil {
		return err
	}
	if l == nil {
		out, err := e.AWS.ELB.CreateListener(ctx, &elbv2.CreateListenerInput{
			LoadBalancerArn: aws.String(alb.ID), Port: aws.Int32(80), Protocol: elbtypes.ProtocolEnumHttp,
			DefaultActions: notFoundAction(), Tags: e.elbTags("http-80-"+e.Name, ""),
		})
		if err != nil {
			return fmt.Errorf("creating listener :80 on %s: %w", alb.ID, err)
		}
		arn := aws.ToString(out.Listeners[0].ListenerArn)
		return e.recordCreated(keyListener, "listener :80", state.Resource{ID: arn})
	}
	arn := aws.ToString(l.ListenerArn)
	if err := e.Record(keyListener, state.Resource{ID: arn}); err != nil {
		return err
	}
	if listenerDrifts(l) {
		if _, err := e.AWS.ELB.ModifyListener(ctx, &elbv2.ModifyListenerInput{
			ListenerArn: aws.String(arn), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80), DefaultActions: notFoundAction(),
		}); err != nil {
			return fmt.Errorf("correcting listener %s: %w", arn, err)
		}
		e.Updated("listener :80", arn, "default action: fixed 404")
		return nil
	}
	e.Unchanged("listener :80", arn)
	return nil
}

func (listenerStep) Down(ctx context.Context, e *Env) error {
	l, err := findListener(ctx, e)
	return removeFound(e, keyListener, "listener :80", l, err, func(l *elbtypes.Listener) string { return aws.ToString(l.ListenerArn) }, func(arn string) error {
		_, err := e.AWS.ELB.DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: aws.String(arn)})
		return goneIsDone("deleting listener "+arn, err)
	})
}

func (listenerStep) Inspect(ctx context.Context, e *Env) []Status {
	l, err := findListener(ctx, e)
	return []Status{{Resource: "listener :80", StateID: e.StateID(keyListener),
		AWS: engine.Observe(err, l != nil, func() string { return string(l.Protocol) })}}
}
