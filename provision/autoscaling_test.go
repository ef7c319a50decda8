package provision

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"

	"github.com/tapctl/tapctl/catalog"
)

func TestScalableTargetRegistration(t *testing.T) {
	const id = "service/microservices-cluster-pr1/payment-service-pr1"
	tags := map[string]string{"Environment": "pr1", "ManagedBy": "tapctl"}
	target := func(minCount, maxCount int32) *aastypes.ScalableTarget {
		return &aastypes.ScalableTarget{ResourceId: aws.String(id), MinCapacity: aws.Int32(minCount), MaxCapacity: aws.Int32(maxCount)}
	}
	cases := []struct {
		name     string
		target   *aastypes.ScalableTarget
		wantCall bool
		wantTags bool // AWS refuses tags for a target that exists
	}{
		{"missing: created with its tags", nil, true, true},
		{"as the catalog says", target(2, 10), false, false},
		{"min changed by hand", target(1, 10), true, false},
		{"max changed by hand", target(2, 20), true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := scalableTargetRegistration(c.target, id, 2, 10, tags)
			if (in != nil) != c.wantCall {
				t.Fatalf("registration = %+v, want one: %v", in, c.wantCall)
			}
			if in == nil {
				return
			}
			if (in.Tags != nil) != c.wantTags {
				t.Errorf("tags = %v, want tags: %v", in.Tags, c.wantTags)
			}
			if aws.ToInt32(in.MinCapacity) != 2 || aws.ToInt32(in.MaxCapacity) != 10 || aws.ToString(in.ResourceId) != id {
				t.Errorf("registration = %s %d..%d, want %s 2..10", aws.ToString(in.ResourceId), aws.ToInt32(in.MinCapacity), aws.ToInt32(in.MaxCapacity), id)
			}
		})
	}
}

func TestScalingPolicyPut(t *testing.T) {
	want := autoScalingStep{catalog.WithDefaults("payment", 10)}.desiredPolicy()
	policy := func(edit func(c *aastypes.TargetTrackingScalingPolicyConfiguration)) *aastypes.ScalingPolicy {
		c := *want
		spec := *want.PredefinedMetricSpecification
		c.PredefinedMetricSpecification = &spec
		edit(&c)
		return &aastypes.ScalingPolicy{PolicyARN: aws.String("arn:policy"), TargetTrackingScalingPolicyConfiguration: &c}
	}
	cases := []struct {
		name    string
		policy  *aastypes.ScalingPolicy
		wantPut bool
	}{
		{"missing", nil, true},
		{"as the catalog says", policy(func(*aastypes.TargetTrackingScalingPolicyConfiguration) {}), false},
		{"another CPU target", policy(func(c *aastypes.TargetTrackingScalingPolicyConfiguration) { c.TargetValue = aws.Float64(50) }), true},
		{"another cooldown", policy(func(c *aastypes.TargetTrackingScalingPolicyConfiguration) { c.ScaleInCooldown = aws.Int32(300) }), true},
		{"scale-in disabled", policy(func(c *aastypes.TargetTrackingScalingPolicyConfiguration) { c.DisableScaleIn = aws.Bool(true) }), true},
		{"another metric", policy(func(c *aastypes.TargetTrackingScalingPolicyConfiguration) {
			c.PredefinedMetricSpecification.PredefinedMetricType = aastypes.MetricTypeECSServiceAverageMemoryUtilization
		}), true},
		{"a step policy of the same name", &aastypes.ScalingPolicy{PolicyType: aastypes.PolicyTypeStepScaling}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			put := scalingPolicyPut(c.policy, "payment-cpu-scaling-pr1", "service/c/s", want)
			if (put != nil) != c.wantPut {
				t.Fatalf("put = %+v, want one: %v", put, c.wantPut)
			}
			if put != nil && (put.TargetTrackingScalingPolicyConfiguration != want || put.PolicyType != aastypes.PolicyTypeTargetTrackingScaling) {
				t.Errorf("put = %+v, want the desired target tracking", put)
			}
		})
	}
}
