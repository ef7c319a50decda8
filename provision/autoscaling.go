package provision

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// scalingCooldown is SPEC row 22's scale-in and scale-out cooldown, in seconds.
const scalingCooldown = 60

// autoScalingStep owns a service's scalable target and its CPU target-tracking policy.
type autoScalingStep struct{ svc catalog.Service }

func (s autoScalingStep) Name() string { return serviceKey(s.svc.Name, kindScaling) }
func (s autoScalingStep) DependsOn() []string {
	return []string{serviceKey(s.svc.Name, kindECSService)}
}

// DownDependsOn: the service need not wait for its scalable target to go; the target and its
// policy are deregistered beside the service's deletion.
func (s autoScalingStep) DownDependsOn() []string { return nil }
func (s autoScalingStep) key() string             { return s.Name() }

func (s autoScalingStep) resourceID(e *Env) string {
	return "service/" + e.Names.Cluster() + "/" + e.Names.Service(s.svc.Name)
}

// findTarget reads the scalable targets of every service in one call.
func (s autoScalingStep) findTarget(ctx context.Context, e *Env) (*aastypes.ScalableTarget, error) {
	all, err := engine.Discover(e.Run, "scalable-targets", func() (map[string]aastypes.ScalableTarget, error) {
		var ids []string
		for _, svc := range e.Catalog {
			ids = append(ids, autoScalingStep{svc}.resourceID(e))
		}
		found := map[string]aastypes.ScalableTarget{}
		p := aas.NewDescribeScalableTargetsPaginator(e.AWS.AutoScaling, &aas.DescribeScalableTargetsInput{
			ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceIds: ids,
			ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("describing scalable targets: %w", err)
			}
			for _, t := range page.ScalableTargets {
				found[aws.ToString(t.ResourceId)] = t
			}
		}
		return found, nil
	})
	if err != nil {
		return nil, err
	}
	t, ok := all[s.resourceID(e)]
	if !ok {
		return nil, nil
	}
	if owned, err := s.parentOwned(ctx, e); err != nil || !owned {
		return nil, err
	}
	return &t, nil
}

// parentOwned proves a scalable target through what its resource ID names: the ECS service
// while it exists, else the cluster (a service just deleted). Both are proven by their tags.
func (s autoScalingStep) parentOwned(ctx context.Context, e *Env) (bool, error) {
	svc, err := ecsServiceStep{svc: s.svc}.find(ctx, e)
	if err != nil || svc != nil {
		return svc != nil, err
	}
	cluster, err := findCluster(ctx, e)
	return cluster != nil, err
}

func (s autoScalingStep) Claim(ctx context.Context, e *Env) error {
	_, err := s.findTarget(ctx, e)
	return err
}

// findPolicy reads the CPU policies of every service in one call, by name.
func (s autoScalingStep) findPolicy(ctx context.Context, e *Env) (*aastypes.ScalingPolicy, error) {
	all, err := engine.Discover(e.Run, "scaling-policies", func() (map[string]aastypes.ScalingPolicy, error) {
		var names []string
		for _, svc := range e.Catalog {
			names = append(names, e.Names.ScalingPolicy(svc.Name))
		}
		found := map[string]aastypes.ScalingPolicy{}
		p := aas.NewDescribeScalingPoliciesPaginator(e.AWS.AutoScaling, &aas.DescribeScalingPoliciesInput{
			ServiceNamespace: aastypes.ServiceNamespaceEcs, PolicyNames: names,
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("describing scaling policies: %w", err)
			}
			for _, pol := range page.ScalingPolicies {
				found[aws.ToString(pol.ResourceId)+"|"+aws.ToString(pol.PolicyName)] = pol
			}
		}
		return found, nil
	})
	if err != nil {
		return nil, err
	}
	if pol, ok := all[s.resourceID(e)+"|"+e.Names.ScalingPolicy(s.svc.Name)]; ok {
		return &pol, nil
	}
	return nil, nil
}

func (s autoScalingStep) desiredPolicy() *aastypes.TargetTrackingScalingPolicyConfiguration {
	return &aastypes.TargetTrackingScalingPolicyConfiguration{
		TargetValue: aws.Float64(s.svc.CPUTarget),
		PredefinedMetricSpecification: &aastypes.PredefinedMetricSpecification{
			PredefinedMetricType: aastypes.MetricTypeECSServiceAverageCPUUtilization,
		},
		ScaleInCooldown:  aws.Int32(scalingCooldown),
		ScaleOutCooldown: aws.Int32(scalingCooldown),
	}
}

func sameTargetTracking(got, want *aastypes.TargetTrackingScalingPolicyConfiguration) bool {
	return got != nil && got.PredefinedMetricSpecification != nil &&
		got.PredefinedMetricSpecification.PredefinedMetricType == want.PredefinedMetricSpecification.PredefinedMetricType &&
		aws.ToFloat64(got.TargetValue) == aws.ToFloat64(want.TargetValue) &&
		aws.ToInt32(got.ScaleInCooldown) == aws.ToInt32(want.ScaleInCooldown) &&
		aws.ToInt32(got.ScaleOutCooldown) == aws.ToInt32(want.ScaleOutCooldown) &&
		!aws.ToBool(got.DisableScaleIn)
}

// scalableTargetRegistration is the RegisterScalableTarget call that creates the target or
// brings its capacity back to min..max; nil when the target has it. RegisterScalableTarget
// creates or updates, but AWS refuses tags for a target that exists (RegisterScalableTarget,
// Tags): they go with the create only.
func scalableTargetRegistration(target *aastypes.ScalableTarget, resourceID string, minCount, maxCount int32, tags map[string]string) *aas.RegisterScalableTargetInput {
	if target != nil && aws.ToInt32(target.MinCapacity) == minCount && aws.ToInt32(target.MaxCapacity) == maxCount {
		return nil
	}
	in := &aas.RegisterScalableTargetInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(resourceID),
		ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
		MinCapacity:       aws.Int32(minCount), MaxCapacity: aws.Int32(maxCount),
	}
	if target == nil {
		in.Tags = tags
	}
	return in
}

// scalingPolicyPut is the PutScalingPolicy call that creates or replaces the CPU policy (by
// name); nil when the policy AWS holds has the settings tapctl sets.
func scalingPolicyPut(policy *aastypes.ScalingPolicy, name, resourceID string, want *aastypes.TargetTrackingScalingPolicyConfiguration) *aas.PutScalingPolicyInput {
	if policy != nil && sameTargetTracking(policy.TargetTrackingScalingPolicyConfiguration, want) {
		return nil
	}
	return &aas.PutScalingPolicyInput{
		PolicyName: aws.String(name), PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(resourceID),
		ScalableDimension:                        aastypes.ScalableDimensionECSServiceDesiredCount,
		TargetTrackingScalingPolicyConfiguration: want,
	}
}

func (s autoScalingStep) Up(ctx context.Context, e *Env) error {
	resourceID := s.resourceID(e)
	target, err := s.findTarget(ctx, e)
	if err != nil {
		return err
	}
	if in := scalableTargetRegistration(target, resourceID, s.svc.MinCount, s.svc.MaxCount, e.Tags(resourceID, s.svc.Name)); in != nil {
		if err := s.registerTarget(ctx, e, target, in); err != nil {
			return err
		}
	} else if err := e.Record(s.key(), state.Resource{ID: resourceID, ARN: aws.ToString(target.ScalableTargetARN)}); err != nil {
		return err
	}

	policy, err := s.findPolicy(ctx, e)
	if err != nil {
		return err
	}
	name := e.Names.ScalingPolicy(s.svc.Name)
	put := scalingPolicyPut(policy, name, resourceID, s.desiredPolicy())
	if put == nil {
		e.Unchanged("scaling policy "+name, aws.ToString(policy.PolicyARN))
		return nil
	}
	if _, err := e.AWS.AutoScaling.PutScalingPolicy(ctx, put); err != nil {
		return fmt.Errorf("putting scaling policy %s: %w", name, err)
	}
	if policy == nil {
		e.Created("scaling policy "+name, resourceID)
	} else {
		e.Updated("scaling policy "+name, resourceID, fmt.Sprintf("CPU target %.0f%%, cooldowns %ds", s.svc.CPUTarget, scalingCooldown))
	}
	return nil
}

// registerTarget creates the scalable target or corrects its capacity; a correction also puts
// back with TagResource the tags the update cannot carry (and any removed by hand).
func (s autoScalingStep) registerTarget(ctx context.Context, e *Env, target *aastypes.ScalableTarget, in *aas.RegisterScalableTargetInput) error {
	resourceID := aws.ToString(in.ResourceId)
	out, err := e.AWS.AutoScaling.RegisterScalableTarget(ctx, in)
	if err != nil {
		return fmt.Errorf("registering scalable target %s: %w", resourceID, err)
	}
	res := state.Resource{ID: resourceID, ARN: aws.ToString(out.ScalableTargetARN)}
	if target == nil {
		return recordCreated(e, s.key(), res, "scalable target "+resourceID, resourceID)
	}
	if err := e.Record(s.key(), res); err != nil {
		return err
	}
	if _, err := e.AWS.AutoScaling.TagResource(ctx, &aas.TagResourceInput{
		ResourceARN: target.ScalableTargetARN, Tags: e.Tags(resourceID, s.svc.Name),
	}); err != nil {
		return fmt.Errorf("tagging scalable target %s: %w", resourceID, err)
	}
	e.Updated("scalable target "+resourceID, resourceID, fmt.Sprintf("capacity %d..%d", s.svc.MinCount, s.svc.MaxCount))
	return nil
}

func (s autoScalingStep) Down(ctx context.Context, e *Env) error {
	resourceID := s.resourceID(e)
	target, err := s.findTarget(ctx, e)
	if err != nil {
		return err
	}
	if target == nil {
		return e.Forget(s.key())
	}
	// One call: "deregistering a scalable target deletes the scaling policies and the scheduled
	// actions that are associated with it" (Application Auto Scaling API Reference). The policy
	// is said deleted too, as plan lists it; this run's reads found it (no new call).
	policy, err := s.findPolicy(ctx, e)
	if err != nil {
		return err
	}
	_, err = e.AWS.AutoScaling.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(resourceID),
		ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
	})
	if err != nil && !cloud.IsNotFound(err) {
		return fmt.Errorf("deregistering scalable target %s: %w", resourceID, err)
	}
	if err == nil {
		if policy != nil {
			e.Deleted("scaling policy "+e.Names.ScalingPolicy(s.svc.Name), resourceID)
		}
		e.Deleted("scalable target "+resourceID, resourceID)
	}
	return e.Forget(s.key())
}

func (s autoScalingStep) Inspect(ctx context.Context, e *Env) []Status {
	target, err := s.findTarget(ctx, e)
	var policy *aastypes.ScalingPolicy
	if err == nil && target != nil {
		policy, err = s.findPolicy(ctx, e)
	}
	return []Status{
		{Resource: "scalable target " + s.resourceID(e), StateID: e.StateID(s.key()),
			AWS: engine.Observe(err, target != nil, func() string {
				return fmt.Sprintf("%d..%d tasks", aws.ToInt32(target.MinCapacity), aws.ToInt32(target.MaxCapacity))
			})},
		{Resource: "scaling policy " + e.Names.ScalingPolicy(s.svc.Name), StateID: e.StateID(s.key()),
			AWS: engine.Observe(err, policy != nil, func() string { return fmt.Sprintf("CPU %.0f%%", s.svc.CPUTarget) })},
	}
}
