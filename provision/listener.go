package provision

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/state"
)

const keyListener = "listener"

// listenerStep owns the HTTP :80 listener whose default answer is a plain 404 (SPEC row 13):
// only the catalog's paths reach a service.
type listenerStep struct{}

func (listenerStep) Name() string        { return "listener" }
func (listenerStep) DependsOn() []string { return []string{"alb"} }

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

func findListener(ctx context.Context, e *Env) (*elbtypes.Listener, error) {
	albARN := e.StateID(keyALB)
	if albARN == "" {
		lb, err := findALB(ctx, e)
		if err != nil || lb == nil {
			return nil, err
		}
		albARN = aws.ToString(lb.LoadBalancerArn)
	}
	out, err := e.AWS.ELB.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(albARN)})
	if cloud.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describing listeners of %s: %w", albARN, err)
	}
	for i := range out.Listeners {
		if aws.ToInt32(out.Listeners[i].Port) == 80 {
			return &out.Listeners[i], nil
		}
	}
	return nil, nil
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
		if err := e.Record(keyListener, state.Resource{ID: arn}); err != nil {
			return err
		}
		e.Created("listener :80", arn)
		return nil
	}
	arn := aws.ToString(l.ListenerArn)
	if err := e.Record(keyListener, state.Resource{ID: arn}); err != nil {
		return err
	}
	if l.Protocol != elbtypes.ProtocolEnumHttp || !isNotFoundAction(l.DefaultActions) {
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
	if err != nil {
		return err
	}
	if l != nil {
		arn := aws.ToString(l.ListenerArn)
		if _, err := e.AWS.ELB.DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: aws.String(arn)}); err != nil && !cloud.IsNotFound(err) {
			return fmt.Errorf("deleting listener %s: %w", arn, err)
		}
		e.Deleted("listener :80", arn)
	}
	return e.Forget(keyListener)
}

func (listenerStep) Inspect(ctx context.Context, e *Env) []Status {
	l, err := findListener(ctx, e)
	return []Status{{Resource: "listener :80", StateID: e.StateID(keyListener),
		AWS: describeState(err, l != nil, func() string { return string(l.Protocol) })}}
}
