package provision

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/tapctl/tapctl/catalog"
)

func weighted(groups map[string]*int32) []elbtypes.Action {
	var tuples []elbtypes.TargetGroupTuple
	for _, arn := range []string{"tg-1", "tg-2", "tg-x"} {
		if w, ok := groups[arn]; ok {
			tuples = append(tuples, elbtypes.TargetGroupTuple{TargetGroupArn: aws.String(arn), Weight: w})
		}
	}
	return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: tuples}}}
}

func pathIs(values ...string) []elbtypes.RuleCondition {
	return []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: values}}}
}

// A service's rule as AWS holds it against the catalog's path and priority and the strategy's
// forward: which of ModifyRule and SetRulePriorities it needs. Weights that ECS shifts in
// blue/green are not fought; in rolling all traffic must reach the primary group.
func TestListenerRuleDrift(t *testing.T) {
	svc := catalog.WithDefaults("orders", 7) // path /orders/*, priority 7
	modify := ruleCorrections{conditionsAndAction: true}
	cases := []struct {
		name      string
		strategy  DeployStrategy
		alternate string
		rule      elbtypes.Rule
		want      ruleCorrections
	}{
		{name: "rolling, converged", strategy: Rolling,
			rule: elbtypes.Rule{Priority: aws.String("7"), Conditions: pathIs("/orders/*"), Actions: forwardTo("tg-1")}},
		{name: "path as the legacy Values field", strategy: Rolling,
			rule: elbtypes.Rule{Priority: aws.String("7"), Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/orders/*"}}}, Actions: forwardTo("tg-1")}},
		{name: "priority changed by hand", strategy: Rolling,
			rule: elbtypes.Rule{Priority: aws.String("70"), Conditions: pathIs("/orders/*"), Actions: forwardTo("tg-1")},
			want: ruleCorrections{priority: true}},
		{name: "another path", strategy: Rolling,
			rule: elbtypes.Rule{Priority: aws.String("7"), Conditions: pathIs("/order/*"), Actions: forwardTo("tg-1")}, want: modify},
		{name: "a second path", strategy: Rolling,
			rule: elbtypes.Rule{Priority: aws.String("7"), Conditions: pathIs("/orders/*", "/x/*"), Actions: forwardTo("tg-1")}, want: modify},
		{name: "a host condition besides", strategy: Rolling,
			rule: elbtypes.Rule{Priority: aws.String("7"), Conditions: append(pathIs("/orders/*"), elbtypes.RuleCondition{Field: aws.String("host-header")}), Actions: forwardTo("tg-1")}, want: modify},
		{name: "rolling, forwards elsewhere, wrong priority too", strategy: Rolling,
			rule: elbtypes.Rule{Priority: aws.String("8"), Conditions: pathIs("/orders/*"), Actions: forwardTo("tg-x")},
			want: ruleCorrections{conditionsAndAction: true, priority: true}},
		{name: "rolling, left weighted to the alternate by a former blue/green", strategy: Rolling, alternate: "tg-2",
			rule: elbtypes.Rule{Priority: aws.String("7"), Conditions: pathIs("/orders/*"), Actions: weighted(map[string]*int32{"tg-1": aws.Int32(0), "tg-2": aws.Int32(100)})}, want: modify},
		{name: "rolling, weighted all to the primary", strategy: Rolling, alternate: "tg-2",
			rule: elbtypes.Rule{Priority: aws.String("7"), Conditions: pathIs("/orders/*"), Actions: weighted(map[string]*int32{"tg-1": aws.Int32(100), "tg-2": aws.Int32(0)})}},
		{name: "rolling, a tuple without weight serves", strategy: Rolling, alternate: "tg-2",
			rule: elbtypes.Rule{Priority: aws.String("7"), Conditions: pathIs("/orders/*"), Actions: weighted(map[string]*int32{"tg-1": aws.Int32(0), "tg-2": nil})}, want: modify},
		{name: "blue/green, ECS shifted the weights", strategy: BlueGreen, alternate: "tg-2",
			rule: elbtypes.Rule{Priority: aws.String("7"), Conditions: pathIs("/orders/*"), Actions: weighted(map[string]*int32{"tg-1": aws.Int32(0), "tg-2": aws.Int32(100)})}},
		{name: "blue/green, the alternate group missing", strategy: BlueGreen, alternate: "tg-2",
			rule: elbtypes.Rule{Priority: aws.String("7"), Conditions: pathIs("/orders/*"), Actions: forwardTo("tg-1")}, want: modify},
		{name: "blue/green before the alternate group exists", strategy: BlueGreen,
			rule: elbtypes.Rule{Priority: aws.String("7"), Conditions: pathIs("/orders/*"), Actions: forwardTo("tg-1")}},
		{name: "a fixed response instead of a forward", strategy: Rolling,
			rule: elbtypes.Rule{Priority: aws.String("7"), Conditions: pathIs("/orders/*"), Actions: notFoundAction()}, want: modify},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := listenerRuleStep{svc: svc, strategy: c.strategy}
			if got := s.drift(&c.rule, "tg-1", c.alternate); got != c.want {
				t.Errorf("drift = %+v, want %+v", got, c.want)
			}
		})
	}
}
