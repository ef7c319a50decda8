package scenarios

import (
	"context"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/tapctl/tapctl/naming"
)

// servedGroups are the target groups a rule sends traffic to: a plain forward's, or the
// weighted forward's groups with a weight above 0.
func servedGroups(t *testing.T, ruleARN string) []string {
	t.Helper()
	out, err := clients(t).ELB.DescribeRules(context.Background(), &elbv2.DescribeRulesInput{RuleArns: []string{ruleARN}})
	must(t, err)
	if len(out.Rules) != 1 || len(out.Rules[0].Actions) != 1 {
		t.Fatalf("rule %s: %+v", ruleARN, out.Rules)
	}
	a := out.Rules[0].Actions[0]
	if a.ForwardConfig == nil || len(a.ForwardConfig.TargetGroups) == 0 {
		return []string{aws.ToString(a.TargetGroupArn)}
	}
	var served []string
	for _, tg := range a.ForwardConfig.TargetGroups {
		if tg.Weight == nil || *tg.Weight > 0 {
			served = append(served, aws.ToString(tg.TargetGroupArn))
		}
	}
	sort.Strings(served)
	return served
}

// After blue/green deployments ECS leaves the production rule weighted 100 to whichever group
// served last, and the service on that group. Switching to rolling moves the service back to
// the primary group; the rule must follow it, or all traffic goes to an empty group.
func TestSwitchToRollingForwardsTheRuleToTheServicesGroup(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	ctx, c, n := context.Background(), clients(t), naming.Names{Env: env}
	tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)
	primary := stateResource(t, dir, env, "payment/target-group").ID
	alternate := stateResource(t, dir, env, "payment/alt-target-group").ID
	rule := stateResource(t, dir, env, "payment/listener-rule").ID

	// As ECS leaves it after a deployment: traffic on the alternate group, the groups swapped.
	_, err := c.ELB.ModifyRule(ctx, &elbv2.ModifyRuleInput{RuleArn: aws.String(rule), Actions: []elbtypes.Action{{
		Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{
			{TargetGroupArn: aws.String(alternate), Weight: aws.Int32(100)}, {TargetGroupArn: aws.String(primary), Weight: aws.Int32(0)},
		}},
	}}})
	must(t, err)
	var payment ecstypes.Service
	for _, svc := range describeServices(t, env) {
		if aws.ToString(svc.ServiceName) == n.Service("payment") {
			payment = svc
		}
	}
	lb := payment.LoadBalancers[0]
	lb.TargetGroupArn, lb.AdvancedConfiguration.AlternateTargetGroupArn = aws.String(alternate), aws.String(primary)
	_, err = c.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(n.Cluster()), Service: aws.String(n.Service("payment")), LoadBalancers: []ecstypes.LoadBalancer{lb}})
	must(t, err)
	if m := tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t).Calls.Mutating(); len(m) != 0 {
		t.Errorf("up counted ECS's blue/green swap as drift: %v", m)
	}

	tapctl(t, dir, "up", "--env", env, "--deploy-strategy", "rolling", "--no-wait").mustSucceed(t)
	for _, svc := range describeServices(t, env) {
		if aws.ToString(svc.ServiceName) != n.Service("payment") {
			continue
		}
		uses := aws.ToString(svc.LoadBalancers[0].TargetGroupArn)
		if uses != primary {
			t.Errorf("after the switch the service uses %s, want the primary group %s", uses, primary)
		}
		if served := servedGroups(t, rule); len(served) != 1 || served[0] != uses {
			t.Errorf("after the switch the rule sends traffic to %v, the service uses %s", served, uses)
		}
	}
	if m := tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t).Calls.Mutating(); len(m) != 0 {
		t.Errorf("up after the switch made %v", m)
	}
}
