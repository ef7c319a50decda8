package provision

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

func target(state elbtypes.TargetHealthStateEnum, reason elbtypes.TargetHealthReasonEnum, description string) elbtypes.TargetHealthDescription {
	h := &elbtypes.TargetHealth{State: state, Reason: reason}
	if description != "" {
		h.Description = aws.String(description)
	}
	return elbtypes.TargetHealthDescription{TargetHealth: h}
}

func TestServingProgressSaysWhatAServiceWaitsFor(t *testing.T) {
	healthy := target(elbtypes.TargetHealthStateEnumHealthy, "", "")
	failing := target(elbtypes.TargetHealthStateEnumUnhealthy, elbtypes.TargetHealthReasonEnumFailedHealthChecks, "Health checks failed with these codes: [502]")
	initial := target(elbtypes.TargetHealthStateEnumInitial, elbtypes.TargetHealthReasonEnumRegistrationInProgress, "Target registration is in progress")
	for _, c := range []struct {
		name                      string
		desired, running, pending int32
		targets                   []elbtypes.TargetHealthDescription
		err                       error
		want                      string
	}{
		{"tasks pending", 2, 0, 2, nil, nil, "waiting for tasks: 0 of 2 tasks running, 2 pending; 0 of 2 targets healthy"},
		{"one task up, registering", 2, 1, 1, []elbtypes.TargetHealthDescription{initial}, nil,
			"waiting for tasks: 1 of 2 tasks running, 1 pending; 0 of 2 targets healthy (1 initial Elb.RegistrationInProgress: Target registration is in progress)"},
		{"targets failing", 2, 2, 0, []elbtypes.TargetHealthDescription{healthy, failing}, nil,
			"waiting for healthy targets: 1 of 2 targets healthy (1 unhealthy Target.FailedHealthChecks: Health checks failed with these codes: [502]); 2 of 2 tasks running"},
		{"reasons counted", 3, 3, 0, []elbtypes.TargetHealthDescription{failing, initial, failing}, nil,
			"waiting for healthy targets: 0 of 3 targets healthy (1 initial Elb.RegistrationInProgress: Target registration is in progress; 2 unhealthy Target.FailedHealthChecks: Health checks failed with these codes: [502]); 3 of 3 tasks running"},
		{"serving", 2, 2, 0, []elbtypes.TargetHealthDescription{healthy, healthy}, nil, "serving: 2 of 2 tasks running, 2 of 2 targets healthy"},
		{"targets unreadable", 2, 2, 0, nil, errors.New("AccessDenied"), "2 of 2 tasks running; targets cannot be described: AccessDenied"},
	} {
		if got := servingProgress(c.desired, c.running, c.pending, c.targets, c.err); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

func TestServingTargetGroupIsTheOneECSNamesFirst(t *testing.T) {
	// ECS swaps the two groups at each blue/green deployment: the first is where tasks register.
	svc := ecstypes.Service{LoadBalancers: []ecstypes.LoadBalancer{{TargetGroupArn: aws.String("tg-green")}}}
	if got := servingTargetGroup(svc); got != "tg-green" {
		t.Errorf("serving target group %q, want tg-green", got)
	}
	if got := servingTargetGroup(ecstypes.Service{}); got != "" {
		t.Errorf("a service without a load balancer serves from %q", got)
	}
	if n := countHealthy([]elbtypes.TargetHealthDescription{{}, target(elbtypes.TargetHealthStateEnumHealthy, "", "")}); n != 1 {
		t.Errorf("countHealthy = %d, want 1", n)
	}
}
