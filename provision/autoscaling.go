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
func (s autoScalingStep) key() string { return s.Name() }

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

func (s autoScalingStep) Up(ctx context.Context, e *Env) error {
	resourceID := s.resourceID(e)
	target, err := s.findTarget(ctx, e)
	if err != nil {
		return err
	}
	if target == nil || aws.ToInt32(target.MinCapacity) != s.svc.MinCount || aws.ToInt32(target.MaxCapacity) != s.svc.MaxCount {
		// RegisterScalableTarget creates or updates. AWS refuses tags for a target that exists
		// (RegisterScalableTarget, Tags): they go with the create only, and an update sets them
		// with TagResource, which also puts back tags removed by hand.
		in := &aas.RegisterScalableTargetInput{
			ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(resourceID),
			ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
			MinCapacity:       aws.Int32(s.svc.MinCount), MaxCapacity: aws.Int32(s.svc.MaxCount),
		}
		if target == nil {
			in.Tags = e.Tags(resourceID, s.svc.Name)
		}
		out, err := e.AWS.AutoScaling.RegisterScalableTarget(ctx, in)
		if err != nil {
			return fmt.Errorf("registering scalable target %s: %w", resourceID, err)
		}
		if err := e.Record(s.key(), state.Resource{ID: resourceID, ARN: aws.ToString(out.ScalableTargetARN)}); err != nil {
			return err
		}
		if target == nil {
			e.Created("scalable target "+resourceID, resourceID)
		} else {
			if _, err := e.AWS.AutoScaling.TagResource(ctx, &aas.TagResourceInput{
				ResourceARN: target.ScalableTargetARN, Tags: e.Tags(resourceID, s.svc.Name),
			}); err != nil {
				return fmt.Errorf("tagging scalable target %s: %w", resourceID, err)
			}
			e.Updated("scalable target "+resourceID, resourceID, fmt.Sprintf("capacity %d..%d", s.svc.MinCount, s.svc.MaxCount))
		}
	} else if err := e.Record(s.key(), state.Resource{ID: resourceID, ARN: aws.ToString(target.ScalableTargetARN)}); err != nil {
		return err
	}

	policy, err := s.findPolicy(ctx, e)
	if err != nil {
		return err
	}
	if policy != nil && sameTargetTracking(policy.TargetTrackingScalingPolicyConfiguration, s.desiredPolicy()) {
		e.Unchanged("scaling policy "+e.Names.ScalingPolicy(s.svc.Name), aws.ToString(policy.PolicyARN))
		return nil
	}
	// PutScalingPolicy creates or replaces the policy by name.
	_, err = e.AWS.AutoScaling.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{
		PolicyName: aws.String(e.Names.ScalingPolicy(s.svc.Name)), PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(resourceID),
		ScalableDimension:                        aastypes.ScalableDimensionECSServiceDesiredCount,
		TargetTrackingScalingPolicyConfiguration: s.desiredPolicy(),
	})
	if err != nil {
		return fmt.Errorf("putting scaling policy %s: %w", e.Names.ScalingPolicy(s.svc.Name), err)
	}
	if policy == nil {
		e.Created("scaling policy "+e.Names.ScalingPolicy(s.svc.Name), resourceID)
	} else {
		e.Updated("scaling policy "+e.Names.ScalingPolicy(s.svc.Name), resourceID, fmt.Sprintf("CPU target %.0f%%, cooldowns %ds", s.svc.CPUTarget, scalingCooldown))
	}
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
	// Looked up first: a down killed between the two deletes leaves the target without its
	// policy, and not every endpoint answers a missing policy with a not-found code (moto says
	// ValidationException).
	policy, err := s.findPolicy(ctx, e)
	if err != nil {
		return err
	}
	if policy != nil {
		_, err = e.AWS.AutoScaling.DeleteScalingPolicy(ctx, &aas.DeleteScalingPolicyInput{
			PolicyName: aws.String(e.Names.ScalingPolicy(s.svc.Name)), ServiceNamespace: aastypes.ServiceNamespaceEcs,
			ResourceId: aws.String(resourceID), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
		})
		if err != nil && !cloud.IsNotFound(err) {
			return fmt.Errorf("deleting scaling policy %s: %w", e.Names.ScalingPolicy(s.svc.Name), err)
		}
		e.Deleted("scaling policy "+e.Names.ScalingPolicy(s.svc.Name), resourceID)
	}
	_, err = e.AWS.AutoScaling.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(resourceID),
		ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
	})
	if err != nil && !cloud.IsNotFound(err) {
		return fmt.Errorf("deregistering scalable target %s: %w", resourceID, err)
	}
	if err == nil {
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
