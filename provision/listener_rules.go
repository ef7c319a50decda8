package provision

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/state"
)

// listenerRuleStep owns a service's rule: its path pattern, at its priority, to its target group.
type listenerRuleStep struct {
	svc      catalog.Service
	strategy DeployStrategy
}

func (s listenerRuleStep) Name() string { return s.svc.Name + "/listener-rule" }
func (s listenerRuleStep) DependsOn() []string {
	return []string{"listener", s.svc.Name + "/target-group", s.svc.Name + "/alt-target-group"}
}
func (s listenerRuleStep) key() string { return s.Name() }

func (s listenerRuleStep) conditions() []elbtypes.RuleCondition {
	return []elbtypes.RuleCondition{{
		Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{s.svc.PathPattern}},
	}}
}

func forwardTo(targetGroup string) []elbtypes.Action {
	return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(targetGroup)}}
}

// actions forward to the service's target group; for blue/green the production rule names
// both groups, all traffic on the primary, so that ECS can shift the weights between them.
func (s listenerRuleStep) actions(primary, alternate string) []elbtypes.Action {
	if s.strategy != BlueGreen || alternate == "" {
		return forwardTo(primary)
	}
	return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{
		TargetGroups: []elbtypes.TargetGroupTuple{
			{TargetGroupArn: aws.String(primary), Weight: aws.Int32(100)},
			{TargetGroupArn: aws.String(alternate), Weight: aws.Int32(0)},
		},
	}}}
}

// forwardsAsOwned accepts the rule as ECS may have left it: in blue/green, both groups named
// with any weights; otherwise traffic to the primary group (or to either group, as a former
// blue/green service leaves it).
func (s listenerRuleStep) forwardsAsOwned(rule *elbtypes.Rule, primary, alternate string) bool {
	if s.strategy == BlueGreen && alternate != "" {
		return forwardsTo(rule, primary) && forwardsTo(rule, alternate)
	}
	return forwardsTo(rule, primary) || alternate != "" && forwardsTo(rule, alternate)
}

func rulePaths(r *elbtypes.Rule) []string {
	var out []string
	for _, c := range r.Conditions {
		if aws.ToString(c.Field) != "path-pattern" {
			return nil // another kind of condition: not ours as it stands
		}
		if c.PathPatternConfig != nil {
			out = append(out, c.PathPatternConfig.Values...)
		} else {
			out = append(out, c.Values...)
		}
	}
	return out
}

// forwardsTo says whether the rule sends its traffic to the target group. The weights of a
// weighted forward are not compared, so whoever shifts traffic between groups is not fought.
func forwardsTo(r *elbtypes.Rule, targetGroup string) bool {
	if len(r.Actions) != 1 || r.Actions[0].Type != elbtypes.ActionTypeEnumForward {
		return false
	}
	a := r.Actions[0]
	if aws.ToString(a.TargetGroupArn) == targetGroup {
		return true
	}
	if a.ForwardConfig != nil {
		for _, tg := range a.ForwardConfig.TargetGroups {
			if aws.ToString(tg.TargetGroupArn) == targetGroup {
				return true
			}
		}
	}
	return false
}

func (s listenerRuleStep) find(ctx context.Context, e *Env) (*elbtypes.Rule, error) {
	listenerARN := e.StateID(keyListener)
	if listenerARN == "" {
		l, err := findListener(ctx, e)
		if err != nil || l == nil {
			return nil, err
		}
		listenerARN = aws.ToString(l.ListenerArn)
	}
	rules, err := discover(e, "listener-rules", func() ([]elbtypes.Rule, error) {
		out, err := e.AWS.ELB.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: aws.String(listenerARN)})
		if cloud.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("describing rules of listener %s: %w", listenerARN, err)
		}
		return out.Rules, nil
	})
	if err != nil {
		return nil, err
	}
	stateID, priority := e.StateID(s.key()), strconv.Itoa(int(s.svc.Priority))
	var byPriority *elbtypes.Rule
	for i := range rules {
		r := &rules[i]
		if e.deletedInPlan(aws.ToString(r.RuleArn)) {
			continue // a removed service's rule: up deletes it before this step runs
		}
		if aws.ToString(r.RuleArn) == stateID {
			return r, nil
		}
		if aws.ToString(r.Priority) == priority {
			byPriority = r
		}
	}
	if byPriority != nil {
		return byPriority, nil
	}
	// Without its ID or priority (a service that left the catalog, after a lost state file;
	// a priority changed by hand), the rule is the one that forwards to the service's groups.
	groups, err := targetGroups(ctx, e)
	if err != nil {
		return nil, err
	}
	for _, name := range []string{e.Names.TargetGroup(s.svc.Name), e.Names.AltTargetGroup(s.svc.Name)} {
		tg, ok := groups[name]
		if !ok {
			continue
		}
		for i := range rules {
			r := &rules[i]
			if !aws.ToBool(r.IsDefault) && !e.deletedInPlan(aws.ToString(r.RuleArn)) && forwardsTo(r, aws.ToString(tg.TargetGroupArn)) {
				return r, nil
			}
		}
	}
	return nil, nil
}

func (s listenerRuleStep) Up(ctx context.Context, e *Env) error {
	listener, err := e.Require(keyListener)
	if err != nil {
		return err
	}
	tg, err := e.Require(s.svc.Name + "/target-group")
	if err != nil {
		return err
	}
	label := fmt.Sprintf("listener rule %s (priority %d)", s.svc.PathPattern, s.svc.Priority)
	rule, err := s.find(ctx, e)
	if err != nil {
		return err
	}
	if rule == nil {
		out, err := e.AWS.ELB.CreateRule(ctx, &elbv2.CreateRuleInput{
			ListenerArn: aws.String(listener.ID), Priority: aws.Int32(s.svc.Priority),
			Conditions: s.conditions(), Actions: s.actions(tg.ID, e.StateID(s.svc.Name+"/alt-target-group")),
			Tags: e.elbTags(e.Names.TargetGroup(s.svc.Name), s.svc.Name),
		})
		if err != nil {
			return fmt.Errorf("creating %s on %s: %w", label, listener.ID, err)
		}
		arn := aws.ToString(out.Rules[0].RuleArn)
		if err := e.Record(s.key(), state.Resource{ID: arn}); err != nil {
			return err
		}
		e.Created(label, arn)
		return nil
	}
	arn := aws.ToString(rule.RuleArn)
	if err := e.Record(s.key(), state.Resource{ID: arn}); err != nil {
		return err
	}
	changed := false
	// In blue/green, ECS points the rule at whichever of the two groups serves; either is fine.
	alt := e.StateID(s.svc.Name + "/alt-target-group")
	if paths := rulePaths(rule); len(paths) != 1 || paths[0] != s.svc.PathPattern || !s.forwardsAsOwned(rule, tg.ID, alt) {
		if _, err := e.AWS.ELB.ModifyRule(ctx, &elbv2.ModifyRuleInput{RuleArn: aws.String(arn), Conditions: s.conditions(), Actions: s.actions(tg.ID, alt)}); err != nil {
			return fmt.Errorf("correcting %s: %w", label, err)
		}
		e.Updated(label, arn, "conditions and action")
		changed = true
	}
	if aws.ToString(rule.Priority) != strconv.Itoa(int(s.svc.Priority)) {
		if _, err := e.AWS.ELB.SetRulePriorities(ctx, &elbv2.SetRulePrioritiesInput{RulePriorities: []elbtypes.RulePriorityPair{{
			RuleArn: aws.String(arn), Priority: aws.Int32(s.svc.Priority),
		}}}); err != nil {
			return fmt.Errorf("setting the priority of %s: %w", label, err)
		}
		e.Updated(label, arn, "priority")
		changed = true
	}
	if !changed {
		e.Unchanged(label, arn)
	}
	return nil
}

func (s listenerRuleStep) Down(ctx context.Context, e *Env) error {
	rule, err := s.find(ctx, e)
	if err != nil {
		return err
	}
	if rule != nil && !aws.ToBool(rule.IsDefault) {
		arn := aws.ToString(rule.RuleArn)
		if _, err := e.AWS.ELB.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: aws.String(arn)}); err != nil && !cloud.IsNotFound(err) {
			return fmt.Errorf("deleting listener rule %s: %w", arn, err)
		}
		e.Deleted(fmt.Sprintf("listener rule %s", s.svc.PathPattern), arn)
	}
	return e.Forget(s.key())
}

func (s listenerRuleStep) Inspect(ctx context.Context, e *Env) []Status {
	rule, err := s.find(ctx, e)
	return []Status{{Resource: "listener rule " + s.svc.PathPattern, StateID: e.StateID(s.key()),
		AWS: describeState(err, rule != nil, func() string { return "priority " + aws.ToString(rule.Priority) })}}
}
