package scenarios

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/naming"
)

// The proxy holds the load balancer "provisioning" and every target "unhealthy" (issue 17):
//   - up makes the listener, the rules and the services while the load balancer provisions, and
//     with --timeout says per service what it still waits for;
//   - once the load balancer is active, up does not return while the targets are unhealthy, and
//     returns, successfully, once they are healthy.
//
// Nothing here depends on timing: the holds last until the test lifts them, and the test only
// waits for counts of the answers the holds rewrote.
func TestUpBuildsOnAProvisioningLoadBalancerAndReturnsOnlyWhenTargetsAreHealthy(t *testing.T) {
	p := startProxy(t)
	p.HoldLoadBalancersProvisioning(true)
	p.HoldTargetsUnhealthy(true)
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	names := naming.Names{Env: env}

	r := tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--timeout", "10s")
	if r.Code == 0 {
		t.Fatalf("up returned 0 while the load balancer provisions and every target is unhealthy:\n%s", tail(r.Stderr, 10))
	}
	// Everything up made, it made while the proxy held the load balancer provisioning.
	made := map[string]int{}
	for _, c := range p.Journal() {
		made[c.Operation]++
	}
	services := len(catalog.Default())
	if made["CreateLoadBalancer"] != 1 || made["CreateListener"] != 1 || made["CreateRule"] != services || made["CreateService"] < services {
		t.Errorf("while the load balancer provisioned, up made %d load balancer, %d listener, %d rules, %d services; want 1, 1, %d, %d or more (a retried create counts twice)",
			made["CreateLoadBalancer"], made["CreateListener"], made["CreateRule"], made["CreateService"], services, services)
	}
	if p.HeldAnswers("DescribeLoadBalancers") == 0 {
		t.Error("up never asked whether the load balancer is active")
	}
	msg := r.Stderr[strings.LastIndex(r.Stderr, "tapctl: "):]
	for _, want := range []string{"does not serve after 10s (raise --timeout, or use --no-wait)", "load balancer " + names.ALB() + ": provisioning, not yet active"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the timeout's message lacks %q:\n%s", want, msg)
		}
	}
	for _, svc := range catalog.Default() {
		want := "ECS service " + names.Service(svc.Name) + ": waiting for healthy targets: 0 of 2 targets healthy (2 unhealthy Target.FailedHealthChecks: Health checks failed); 2 of 2 tasks running"
		if !strings.Contains(msg, want+"\n") && !strings.HasSuffix(strings.TrimSpace(msg), want) {
			t.Errorf("the timeout's message lacks the line %q:\n%s", want, msg)
		}
	}

	// The load balancer is active now; the targets are still unhealthy.
	p.HoldLoadBalancersProvisioning(false)
	heldBefore := p.HeldAnswers("DescribeTargetHealth")
	done := make(chan result, 1)
	go func() { done <- tapctlAt(t, p.URL, dir, nil, "up", "--env", env) }()
	deadline := time.Now().Add(10 * time.Minute) // a bound for a stuck run, not a timing the test needs
	for p.HeldAnswers("DescribeTargetHealth") < heldBefore+3 {
		select {
		case r := <-done:
			t.Fatalf("up returned (exit %d) while every target was unhealthy:\n%s", r.Code, tail(r.Stderr, 10))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("up never asked for the targets' health")
		}
	}
	select {
	case r := <-done:
		t.Fatalf("up returned (exit %d) while every target was unhealthy:\n%s", r.Code, tail(r.Stderr, 10))
	default:
	}
	p.HoldTargetsUnhealthy(false)
	r = <-done
	r.mustSucceed(t)
	if m, _ := r.Calls.Totals(); m != 0 {
		t.Errorf("the up that waited for the targets made %d mutating calls, want 0", m)
	}
	// What up waited for holds: each service's target group has its desired count healthy.
	c := clientsAt(t, p.URL)
	for _, svc := range describeServices(t, env) {
		tg := aws.ToString(svc.LoadBalancers[0].TargetGroupArn)
		th, err := c.ELB.DescribeTargetHealth(context.Background(), &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
		must(t, err)
		healthy := 0
		for _, d := range th.TargetHealthDescriptions {
			if d.TargetHealth.State == elbtypes.TargetHealthStateEnumHealthy {
				healthy++
			}
		}
		if int32(healthy) != svc.DesiredCount {
			t.Errorf("%s: %d healthy targets after up, want %d", aws.ToString(svc.ServiceName), healthy, svc.DesiredCount)
		}
	}
}
