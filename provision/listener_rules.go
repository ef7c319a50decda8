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
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// listenerRuleStep owns a service's rule: its path pattern, at its priority, to its target group.
type listenerRuleStep struct {
	svc      catalog.Service
	strategy DeployStrategy
}

func (s listenerRuleStep) Name() string { return serviceKey(s.svc.Name, kindListenerRule) }
func (s listenerRuleStep) DependsOn() []string {
	return []string{keyListener, serviceKey(s.svc.Name, kindTargetGroup), serviceKey(s.svc.Name, kindAltTargetGroup)}
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
// with any weights (ECS shifts them). In rolling, all traffic must go to the primary group, the
// one the rolling service uses: a former blue/green rule that ECS left weighted to the alternate
// group would send everything to a group no task registers in once the service is back on the
// primary.
func (s listenerRuleStep) forwardsAsOwned(rule *elbtypes.Rule, primary, alternate string) bool {
	if s.strategy == BlueGreen && alternate != "" {
		return forwardsTo(rule, primary) && forwardsTo(rule, alternate)
	}
	return forwardsOnlyTo(rule, primary)
}

// ruleCorrections are what an existing rule needs.
type ruleCorrections struct {
	conditionsAndAction bool // ModifyRule: the service's one path pattern, forwarded as owned
	priority            bool // SetRulePriorities: the catalog's priority
}

// drift compares the rule AWS holds with the service's. In blue/green, ECS points the rule at
// whichever of the two groups serves; either is fine. In rolling, the rule must send everything
// to the primary group, where the service is.
func (s listenerRuleStep) drift(rule *elbtypes.Rule, primary, alternate string) ruleCorrections {
	paths := rulePaths(rule)
	return ruleCorrections{
		conditionsAndAction: len(paths) != 1 || paths[0] != s.svc.PathPattern || !s.forwardsAsOwned(rule, primary, alternate),
		priority:            aws.ToString(rule.Priority) != strconv.Itoa(int(s.svc.Priority)),
	}
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

// forwardsOnlyTo says whether all of the rule's traffic goes to the target group: a plain
// forward to it, or a weighted forward whose every weight above 0 is its.
func forwardsOnlyTo(r *elbtypes.Rule, targetGroup string) bool {
	if len(r.Actions) != 1 || r.Actions[0].Type != elbtypes.ActionTypeEnumForward {
		return false
	}
	a := r.Actions[0]
	if a.ForwardConfig == nil || len(a.ForwardConfig.TargetGroups) == 0 {
		return aws.ToString(a.TargetGroupArn) == targetGroup
	}
	served := false
	for _, tg := range a.ForwardConfig.TargetGroups {
		// No weight is ELB's default weight, not 0.
		if tg.Weight != nil && aws.ToInt32(tg.Weight) == 0 {
			continue
		}
		if aws.ToString(tg.TargetGroupArn) != targetGroup {
			return false
		}
		served = true
	}
	return served
}

// listenerRules are the rules of the environment's listener and the tags of each, by ARN.
type listenerRules struct {
	rules []elbtypes.Rule
	tags  map[string]map[string]string
}

// rulesOf reads the listener's rules and their tags once per run.
func rulesOf(ctx context.Context, e *Env) (listenerRules, error) {
	listenerARN := e.StateID(keyListener)
	l, err := findListener(ctx, e)
	if err != nil {
		return listenerRules{}, err
	}
	if l != nil {
		listenerARN = aws.ToString(l.ListenerArn)
	}
	if listenerARN == "" {
		return listenerRules{}, nil
	}
	return engine.Discover(e.Run, "listener-rules/"+listenerARN, func() (listenerRules, error) {
		out, err := e.AWS.ELB.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: aws.String(listenerARN)})
		if cloud.IsNotFound(err) {
			return listenerRules{}, nil
		}
		if err != nil {
			return listenerRules{}, fmt.Errorf("describing rules of listener %s: %w", listenerARN, err)
		}
		var arns []string
		for _, r := range out.Rules {
			if !aws.ToBool(r.IsDefault) {
				arns = append(arns, aws.ToString(r.RuleArn))
			}
		}
		tags, err := elbTags(ctx, e, arns...)
		return listenerRules{rules: out.Rules, tags: tags}, err
	})
}

// find picks the service's rule: by the state file's ARN, else the rule at its priority, else
// (a service that left the catalog, after a lost state file; a priority changed by hand) the
// rule that forwards to the service's target groups.
func (s listenerRuleStep) find(ctx context.Context, e *Env) (*elbtypes.Rule, error) {
	all, err := rulesOf(ctx, e)
	if err != nil || all.rules == nil {
		return nil, err
	}
	pick := func(match func(*elbtypes.Rule) bool) *elbtypes.Rule {
		for i := range all.rules {
			r := &all.rules[i]
			// A removed service's rule: up deletes it before this step runs.
			if !aws.ToBool(r.IsDefault) && !e.DeletedInPlan(aws.ToString(r.RuleArn)) && match(r) {
				return r
			}
		}
		return nil
	}
	priority := strconv.Itoa(int(s.svc.Priority))
	return engine.FindOwned(e.Run, engine.Lookup[elbtypes.Rule]{
		Kind: "listener rule", Name: fmt.Sprintf("%s (priority %d)", s.svc.PathPattern, s.svc.Priority), StateID: e.StateID(s.key()),
		ByID: func(arn string) (*elbtypes.Rule, error) {
			return pick(func(r *elbtypes.Rule) bool { return aws.ToString(r.RuleArn) == arn }), nil
		},
		ByName: func() (*elbtypes.Rule, error) {
			if r := pick(func(r *elbtypes.Rule) bool { return aws.ToString(r.Priority) == priority }); r != nil {
				return r, nil
			}
			groups, err := targetGroups(ctx, e)
			if err != nil {
				return nil, err
			}
			for _, name := range []string{e.Names.TargetGroup(s.svc.Name), e.Names.AltTargetGroup(s.svc.Name)} {
				if tg, ok := groups.groups[name]; ok {
					if r := pick(func(r *elbtypes.Rule) bool { return forwardsTo(r, aws.ToString(tg.TargetGroupArn)) }); r != nil {
						return r, nil
					}
				}
			}
			return nil, nil
		},
		Tags: func(r *elbtypes.Rule) (map[string]string, error) { return all.tags[aws.ToString(r.RuleArn)], nil },
		ID:   func(r *elbtypes.Rule) string { return aws.ToString(r.RuleArn) },
	})
}

func (s listenerRuleStep) Claim(ctx context.Context, e *Env) error {
	_, err := s.find(ctx, e)
	return err
}

func (s listenerRuleStep) Up(ctx context.Context, e *Env) error {
	listener, err := e.Require(keyListener)
	if err != nil {
		return err
	}
	tg, err := e.Require(serviceKey(s.svc.Name, kindTargetGroup))
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
			Conditions: s.conditions(), Actions: s.actions(tg.ID, e.StateID(serviceKey(s.svc.Name, kindAltTargetGroup))),
			Tags: e.elbTags(e.Names.TargetGroup(s.svc.Name), s.svc.Name),
		})
		if err != nil {
			return fmt.Errorf("creating %s on %s: %w", label, listener.ID, err)
		}
		arn := aws.ToString(out.Rules[0].RuleArn)
		return e.recordCreated(s.key(), label, state.Resource{ID: arn})
	}
	arn := aws.ToString(rule.RuleArn)
	if err := e.Record(s.key(), state.Resource{ID: arn}); err != nil {
		return err
	}
	alt := e.StateID(serviceKey(s.svc.Name, kindAltTargetGroup))
	fix := s.drift(rule, tg.ID, alt)
	if fix.conditionsAndAction {
		if _, err := e.AWS.ELB.ModifyRule(ctx, &elbv2.ModifyRuleInput{RuleArn: aws.String(arn), Conditions: s.conditions(), Actions: s.actions(tg.ID, alt)}); err != nil {
			return fmt.Errorf("correcting %s: %w", label, err)
		}
		e.Updated(label, arn, "conditions and action")
	}
	if fix.priority {
		if _, err := e.AWS.ELB.SetRulePriorities(ctx, &elbv2.SetRulePrioritiesInput{RulePriorities: []elbtypes.RulePriorityPair{{
			RuleArn: aws.String(arn), Priority: aws.Int32(s.svc.Priority),
		}}}); err != nil {
			return fmt.Errorf("setting the priority of %s: %w", label, err)
		}
		e.Updated(label, arn, "priority")
	}
	if fix == (ruleCorrections{}) {
		e.Unchanged(label, arn)
	}
	return nil
}

func (s listenerRuleStep) Down(ctx context.Context, e *Env) error {
	rule, err := s.find(ctx, e)
	if rule != nil && aws.ToBool(rule.IsDefault) {
		rule = nil // the listener's own: it goes with the listener
	}
	return removeFound(e, s.key(), "listener rule "+s.svc.PathPattern, rule, err, func(r *elbtypes.Rule) string { return aws.ToString(r.RuleArn) }, func(arn string) error {
		_, err := e.AWS.ELB.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: aws.String(arn)})
		return goneIsDone("deleting listener rule "+arn, err)
	})
}

func (s listenerRuleStep) Inspect(ctx context.Context, e *Env) []Status {
	rule, err := s.find(ctx, e)
	return []Status{{Resource: "listener rule " + s.svc.PathPattern, StateID: e.StateID(s.key()),
		AWS: engine.Observe(err, rule != nil, func() string { return "priority " + aws.ToString(rule.Priority) })}}
}
