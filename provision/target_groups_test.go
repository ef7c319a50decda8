package provision

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/tapctl/tapctl/catalog"
)

// specTargetGroup is the target group the SPEC wants for svc, as DescribeTargetGroups answers it.
func specTargetGroup(svc catalog.Service) elbtypes.TargetGroup {
	return elbtypes.TargetGroup{
		VpcId: aws.String("vpc-1"), TargetType: elbtypes.TargetTypeEnumIp, Port: aws.Int32(svc.Port),
		HealthCheckProtocol: elbtypes.ProtocolEnumHttp, HealthCheckPath: aws.String(svc.HealthPath),
		HealthCheckIntervalSeconds: aws.Int32(healthInterval), HealthCheckTimeoutSeconds: aws.Int32(healthTimeout),
		HealthyThresholdCount: aws.Int32(healthyThreshold), UnhealthyThresholdCount: aws.Int32(unhealthyThreshold),
	}
}

// The health check AWS holds against SPEC row 19; the VPC, target type and port cannot change.
func TestTargetGroupDrift(t *testing.T) {
	svc := catalog.WithDefaults("orders", 7)
	cases := []struct {
		name         string
		change       func(*elbtypes.TargetGroup)
		healthDrifts bool
		fixedErr     string
	}{
		{name: "converged", change: func(*elbtypes.TargetGroup) {}},
		{name: "health path", change: func(g *elbtypes.TargetGroup) { g.HealthCheckPath = aws.String("/other") }, healthDrifts: true},
		{name: "interval", change: func(g *elbtypes.TargetGroup) { g.HealthCheckIntervalSeconds = aws.Int32(10) }, healthDrifts: true},
		{name: "timeout", change: func(g *elbtypes.TargetGroup) { g.HealthCheckTimeoutSeconds = aws.Int32(6) }, healthDrifts: true},
		{name: "healthy threshold", change: func(g *elbtypes.TargetGroup) { g.HealthyThresholdCount = aws.Int32(5) }, healthDrifts: true},
		{name: "unhealthy threshold", change: func(g *elbtypes.TargetGroup) { g.UnhealthyThresholdCount = aws.Int32(2) }, healthDrifts: true},
		{name: "HTTPS health check", change: func(g *elbtypes.TargetGroup) { g.HealthCheckProtocol = elbtypes.ProtocolEnumHttps }, healthDrifts: true},
		{name: "unset health check", change: func(g *elbtypes.TargetGroup) { g.HealthCheckIntervalSeconds = nil }, healthDrifts: true},
		{name: "another VPC", change: func(g *elbtypes.TargetGroup) { g.VpcId = aws.String("vpc-2") },
			fixedErr: "target group orders-tg-pr1 has VPC vpc-2, type ip, port 80; these cannot change: delete it to recreate it"},
		{name: "instance targets", change: func(g *elbtypes.TargetGroup) { g.TargetType = elbtypes.TargetTypeEnumInstance },
			fixedErr: "target group orders-tg-pr1 has VPC vpc-1, type instance, port 80; these cannot change: delete it to recreate it"},
		{name: "another port", change: func(g *elbtypes.TargetGroup) { g.Port = aws.Int32(8080) },
			fixedErr: "target group orders-tg-pr1 has VPC vpc-1, type ip, port 8080; these cannot change: delete it to recreate it"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := targetGroupStep{svc: svc}
			held := specTargetGroup(svc)
			c.change(&held)
			if got := s.healthCheckDiffers(&held); got != c.healthDrifts {
				t.Errorf("healthCheckDiffers = %t, want %t", got, c.healthDrifts)
			}
			err := s.fixedDiffers(&held, "orders-tg-pr1", "vpc-1")
			if (err == nil) != (c.fixedErr == "") || err != nil && err.Error() != c.fixedErr {
				t.Errorf("fixedDiffers = %v, want %q", err, c.fixedErr)
			}
		})
	}
}

// The draining time is read out of the group's attributes; absent reads as "", which differs
// from the SPEC's 30 s and is set.
func TestDeregistrationDelayOf(t *testing.T) {
	attr := func(k, v string) elbtypes.TargetGroupAttribute {
		return elbtypes.TargetGroupAttribute{Key: aws.String(k), Value: aws.String(v)}
	}
	cases := []struct {
		name  string
		attrs []elbtypes.TargetGroupAttribute
		want  string
	}{
		{"none", nil, ""},
		{"ELB's default", []elbtypes.TargetGroupAttribute{attr("stickiness.enabled", "false"), attr(deregistrationDelayKey, "300")}, "300"},
		{"the SPEC's", []elbtypes.TargetGroupAttribute{attr(deregistrationDelayKey, deregistrationDelay)}, "30"},
		{"other attributes only", []elbtypes.TargetGroupAttribute{attr("slow_start.duration_seconds", "30")}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := deregistrationDelayOf(c.attrs); got != c.want {
				t.Errorf("deregistrationDelayOf = %q, want %q", got, c.want)
			}
		})
	}
}
