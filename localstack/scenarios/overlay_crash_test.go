package scenarios

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"

	"github.com/tapctl/tapctl/naming"
)

// The crash guarantees for overlay environments (issue 16): an overlay up or down killed right
// after one of its mutating calls is finished by the next one, and the base is left exactly as
// the overlay found it. The sample is sparser than the isolated environment's (every
// crashOverlayEvery-th kill point, the first and the last included); `make crash-sweep` runs
// every one.
const crashOverlayEvery = 12

// withBase makes a base environment for the test and takes it down at its end, after the
// overlays its subtests made.
func withBase(t *testing.T) (base string, lb elbtypes.LoadBalancer) {
	t.Helper()
	base, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, base)
	tapctl(t, dir, "up", "--env", base, "--no-wait").mustSucceed(t)
	return base, baseLoadBalancer(t, base)
}

// countOverlayMutating runs a fresh overlay up and its down through a proxy and returns how
// many mutating calls each carried out.
func countOverlayMutating(t *testing.T, base string) (up, down int) {
	t.Helper()
	p, env, dir := startProxy(t), newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--base", base, "--no-wait").mustSucceed(t)
	up = p.MutatingCarriedOut()
	p.KillAfterMutating(0, nil) // resets the count
	tapctlAt(t, p.URL, dir, nil, "down", "--yes", "--env", env).mustSucceed(t)
	return up, p.MutatingCarriedOut()
}

func TestKilledOverlayUpIsFinishedByTheNextUp(t *testing.T) {
	base, lb := withBase(t)
	total, _ := countOverlayMutating(t, base)
	sweepPoints(t, crashPointsEvery(total, crashOverlayEvery), total, func(t *testing.T, k int) {
		p, again, env, dir := startProxy(t), startProxy(t), newEnvName(t), t.TempDir()
		downAtCleanup(t, dir, env)
		killed := runKilledAfter(t, p, k, dir, "up", "--env", env, "--base", base, "--no-wait")
		assertStateReadable(t, dir, env)
		defer logJournalOnFailure(t, killed, p, again)
		tapctlAt(t, again.URL, dir, nil, "up", "--env", env, "--no-wait").mustSucceed(t)
		assertOverlay(t, base, env, lb)
		assertOverlayOneOfEach(t, env)
		assertCreatedAreTheInventoryOf(t, append(p.Journal(), again.Journal()...), env, overlayWants)
	})
}

func TestKilledOverlayDownIsFinishedByTheNextDown(t *testing.T) {
	base, lb := withBase(t)
	_, total := countOverlayMutating(t, base)
	sweepPoints(t, crashPointsEvery(total, crashOverlayEvery), total, func(t *testing.T, k int) {
		p, again, env, dir := startProxy(t), startProxy(t), newEnvName(t), t.TempDir()
		downAtCleanup(t, dir, env)
		tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--base", base, "--no-wait").mustSucceed(t)
		killDownAndFinish(t, p, again, k, dir, env)
		assertNoTraceOnBase(t, env, lb)
	})
}

// assertOverlayOneOfEach counts what an overlay could hold twice without a name clash: its
// Cloud Map namespace and the rules of its listener.
func assertOverlayOneOfEach(t *testing.T, env string) {
	t.Helper()
	n := naming.Names{Env: env}
	namespaces, err := clients(t).ServiceDisc.ListNamespaces(context.Background(), &sd.ListNamespacesInput{})
	must(t, err)
	named := 0
	for _, ns := range namespaces.Namespaces {
		if aws.ToString(ns.Name) == n.Namespace() {
			named++
		}
	}
	if named != 1 {
		t.Errorf("%d Cloud Map namespaces named %s, want 1", named, n.Namespace())
	}
}

// assertNoTraceOnBase: once an overlay is down, the base's load balancer holds no listener of it
// and its group no rule of it.
func assertNoTraceOnBase(t *testing.T, env string, lb elbtypes.LoadBalancer) {
	t.Helper()
	ctx, c := context.Background(), clients(t)
	listeners, err := c.ELB.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
	must(t, err)
	for _, l := range listeners.Listeners {
		tags, err := c.ELB.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{aws.ToString(l.ListenerArn)}})
		must(t, err)
		if m := tagMap(tags.TagDescriptions[0].Tags, func(t elbtypes.Tag) (*string, *string) { return t.Key, t.Value }); m["Environment"] == env {
			t.Errorf("the base load balancer still holds listener :%d of %s", aws.ToInt32(l.Port), env)
		}
	}
	groups, err := c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: lb.SecurityGroups})
	must(t, err)
	for _, g := range groups.SecurityGroups {
		for _, p := range g.IpPermissions {
			for _, r := range p.IpRanges {
				if strings.HasSuffix(aws.ToString(r.Description), " "+env) {
					t.Errorf("the base load balancer group still admits :%d for %s", aws.ToInt32(p.FromPort), env)
				}
			}
		}
	}
}
