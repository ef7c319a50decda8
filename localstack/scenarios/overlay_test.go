package scenarios

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	tagging "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	taggingtypes "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/naming"
	"github.com/tapctl/tapctl/provision"
	"github.com/tapctl/tapctl/state"
)

// A base and two overlays side by side (issue 16): each overlay has its own listener on the
// base load balancer, its rules, target groups and task security group, and its tasks are
// reachable only from the base load balancer; the base's own up leaves the overlays' rules
// alone; the base's down is refused while an overlay exists; one overlay's down leaves the base
// and the other overlay exactly as they were.
func TestOverlaysShareABaseAndStayApart(t *testing.T) {
	base, a, b, dir := newEnvName(t), newEnvName(t), newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, base) // cleanups run last-registered first: the overlays go first
	downAtCleanup(t, dir, a)
	downAtCleanup(t, dir, b)
	tapctl(t, dir, "up", "--env", base).mustSucceed(t)
	upA := tapctl(t, dir, "up", "--env", a, "--base", base).mustSucceed(t)
	tapctl(t, dir, "up", "--env", b, "--base", base).mustSucceed(t)
	if !strings.Contains(upA.Stdout, "OverlayUrl") {
		t.Errorf("overlay up printed no OverlayUrl:\n%s", upA.Stdout)
	}

	lb := baseLoadBalancer(t, base)
	ports := map[string]int32{}
	for _, env := range []string{a, b} {
		ports[env] = assertOverlay(t, base, env, lb)
	}
	if ports[a] == ports[b] {
		t.Errorf("both overlays listen on :%d", ports[a])
	}
	assertBaseGroupAdmits(t, base, lb, []int32{ports[a], ports[b]})

	// Converged: the base's up keeps the overlays' rules, an overlay's up changes nothing.
	for _, args := range [][]string{{"up", "--env", base}, {"up", "--env", a}} {
		if m := tapctl(t, dir, args...).mustSucceed(t).Calls.Mutating(); len(m) != 0 {
			t.Errorf("tapctl %s made mutating calls: %v", strings.Join(args, " "), m)
		}
	}

	// plan and status see an overlay as it is: nothing to change, every resource present.
	if _, p := plan(t, dir, a); len(p.Changes) != 0 {
		t.Errorf("plan of converged overlay %s lists changes: %+v", a, p.Changes)
	}
	status := tapctl(t, dir, "status", "--env", a).mustSucceed(t)
	for _, want := range []string{"load balancer of base " + base, "listener of overlay " + a} {
		if !strings.Contains(status.Stdout, want) {
			t.Errorf("status of overlay %s lacks %q:\n%s", a, want, status.Stdout)
		}
	}

	// deploy and rollback move an overlay's service only, in the base's cluster; graph draws it.
	tapctl(t, dir, "deploy", "--env", a, "--service", "payment", "--image", "nginx:1.27").mustSucceed(t)
	if img := overlayImage(t, base, a, "payment"); img != "nginx:1.27" {
		t.Errorf("after deploy, overlay %s's payment runs %s, want nginx:1.27", a, img)
	}
	if img := overlayImage(t, base, b, "payment"); img == "nginx:1.27" {
		t.Errorf("deploy of overlay %s changed overlay %s's payment", a, b)
	}
	tapctl(t, dir, "rollback", "--env", a, "--service", "payment").mustSucceed(t)
	if img := overlayImage(t, base, a, "payment"); img == "nginx:1.27" {
		t.Errorf("after rollback, overlay %s's payment still runs nginx:1.27", a)
	}
	if g := tapctl(t, dir, "graph", "--env", a).mustSucceed(t).Stdout; !strings.Contains(g, "listener") {
		t.Errorf("graph of overlay %s draws no listener:\n%s", a, g)
	}

	refused := tapctl(t, dir, "down", "--yes", "--env", base)
	if refused.Code == 0 || !strings.Contains(refused.Stderr, a) || !strings.Contains(refused.Stderr, b) || !strings.Contains(refused.Stderr, "--cascade") {
		t.Errorf("down of the base: exit %d, want a refusal naming %s and %s:\n%s", refused.Code, a, b, refused.Stderr)
	}
	if m := refused.Calls.Mutating(); len(m) != 0 {
		t.Errorf("the refused down of the base made mutating calls: %v", m)
	}

	before := overlayInventory(t, base, b, lb, ports[a])
	tapctl(t, dir, "down", "--yes", "--env", a).mustSucceed(t)
	if after := overlayInventory(t, base, b, lb, ports[a]); !slices.Equal(before, after) {
		t.Errorf("down of overlay %s changed the base or the other overlay:\nbefore %v\nafter  %v", a, before, after)
	}
	assertBaseGroupAdmits(t, base, lb, []int32{ports[b]})

	// A rule described as an overlay's whose overlay holds no listener here is stale: the base's
	// up revokes it, and keeps the rule of the overlay that does.
	_, err := clients(t).EC2.AuthorizeSecurityGroupIngress(context.Background(), &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(lb.SecurityGroups[0]), IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8040), ToPort: aws.Int32(8040),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0"), Description: aws.String("tapctl overlay gone")}}}},
	})
	must(t, err)
	tapctl(t, dir, "up", "--env", base).mustSucceed(t)
	assertBaseGroupAdmits(t, base, lb, []int32{ports[b]})

	// A lost state file: the overlay finds its base by its tags and adopts all it had, creating
	// nothing. moto reports no Service Connect configuration on a service (AWS does, on its primary
	// deployment), so without the state file's record of it up applies it again: one
	// UpdateService per service, and nothing else.
	must(t, os.Remove(filepath.Join(dir, b+".json")))
	for _, call := range tapctl(t, dir, "up", "--env", b).mustSucceed(t).Calls.Mutating() {
		if !strings.HasPrefix(call, "ECS.UpdateService") {
			t.Errorf("up of overlay %s after its state file was lost made a mutating call other than UpdateService: %s", b, call)
		}
	}
	if st, err := state.Open(dir, b); err != nil || st.Setting(provision.SettingBase) != base {
		t.Errorf("the state file of %s rebuilt by up does not name base %s (%v)", b, base, err)
	}

	// --cascade takes the remaining overlay down first, then the base.
	tapctl(t, dir, "down", "--yes", "--cascade", "--env", base).mustSucceed(t)
	for _, env := range []string{b, base} {
		if left := leftovers(t, env); len(left) != 0 {
			t.Errorf("after down --cascade of the base, %s left: %v", env, left)
		}
	}
}

// baseLoadBalancer is the base's load balancer.
func baseLoadBalancer(t *testing.T, base string) elbtypes.LoadBalancer {
	t.Helper()
	out, err := clients(t).ELB.DescribeLoadBalancers(context.Background(), &elbv2.DescribeLoadBalancersInput{Names: []string{naming.Names{Env: base}.ALB()}})
	must(t, err)
	if len(out.LoadBalancers) != 1 {
		t.Fatalf("base %s has %d load balancers", base, len(out.LoadBalancers))
	}
	return out.LoadBalancers[0]
}

// assertOverlay reads back one overlay's routing and services; it returns the overlay's port.
func assertOverlay(t *testing.T, base, env string, lb elbtypes.LoadBalancer) int32 {
	t.Helper()
	ctx, c, n := context.Background(), clients(t), naming.Names{Env: env}
	listeners, err := c.ELB.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
	must(t, err)
	var mine []elbtypes.Listener
	for _, l := range listeners.Listeners {
		tags, err := c.ELB.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{aws.ToString(l.ListenerArn)}})
		must(t, err)
		m := tagMap(tags.TagDescriptions[0].Tags, func(t elbtypes.Tag) (*string, *string) { return t.Key, t.Value })
		if m["Environment"] == env {
			mine = append(mine, l)
			if m["ManagedBy"] != "tapctl" || m[provision.TagBase] != base || m[provision.TagPort] != strconv.Itoa(int(aws.ToInt32(l.Port))) {
				t.Errorf("listener of overlay %s: tags %v", env, m)
			}
		}
	}
	if len(mine) != 1 {
		t.Fatalf("overlay %s has %d listeners on the base load balancer, want 1", env, len(mine))
	}
	l := mine[0]
	port := aws.ToInt32(l.Port)
	if port < provision.OverlayPorts.First || port > provision.OverlayPorts.Last || l.Protocol != elbtypes.ProtocolEnumHttp {
		t.Errorf("listener of overlay %s: %s :%d, want HTTP on a port of %d-%d", env, l.Protocol, port, provision.OverlayPorts.First, provision.OverlayPorts.Last)
	}
	if len(l.DefaultActions) != 1 || l.DefaultActions[0].FixedResponseConfig == nil || aws.ToString(l.DefaultActions[0].FixedResponseConfig.StatusCode) != "404" {
		t.Errorf("listener of overlay %s: default actions %+v, want the fixed 404", env, l.DefaultActions)
	}
	rules, err := c.ELB.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: l.ListenerArn})
	must(t, err)
	want := map[string]string{}
	for i, svc := range catalog.Default() {
		want[strconv.Itoa(10+i)] = svc.PathPattern + " -> " + n.TargetGroup(svc.Name)
	}
	got := map[string]string{}
	for _, r := range rules.Rules {
		if aws.ToBool(r.IsDefault) {
			continue
		}
		tgs, err := c.ELB.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: forwardedGroups(r.Actions)[:1]})
		must(t, err)
		got[aws.ToString(r.Priority)] = r.Conditions[0].PathPatternConfig.Values[0] + " -> " + aws.ToString(tgs.TargetGroups[0].TargetGroupName)
		if vpc := aws.ToString(tgs.TargetGroups[0].VpcId); vpc != aws.ToString(lb.VpcId) {
			t.Errorf("target group %s is in %s, the base's VPC is %s", aws.ToString(tgs.TargetGroups[0].TargetGroupName), vpc, aws.ToString(lb.VpcId))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rules of overlay %s = %v, want %v", env, got, want)
	}
	// Its services run in the base's cluster, in its own namespace, reachable only from the base
	// load balancer on the catalog's ports.
	bn := naming.Names{Env: base}
	for _, svc := range catalog.Default() {
		out, err := c.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(bn.Cluster()), Services: []string{n.Service(svc.Name)}})
		must(t, err)
		if len(out.Services) != 1 || aws.ToString(out.Services[0].Status) != "ACTIVE" {
			t.Errorf("overlay %s has no active service %s in the base cluster", env, n.Service(svc.Name))
			continue
		}
		assertServiceReachable(t, svc, out.Services[0], lb.SecurityGroups)
		groups := out.Services[0].NetworkConfiguration.AwsvpcConfiguration.SecurityGroups
		if len(groups) != 1 {
			t.Fatalf("service %s has security groups %v", n.Service(svc.Name), groups)
		}
		sg, err := c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: groups})
		must(t, err)
		if name := aws.ToString(sg.SecurityGroups[0].GroupName); name != n.TaskSecurityGroup() {
			t.Errorf("service %s runs in security group %s, want the overlay's %s", n.Service(svc.Name), name, n.TaskSecurityGroup())
		}
	}
	return port
}

// forwardedGroups are the target groups a rule's actions forward to.
func forwardedGroups(actions []elbtypes.Action) []string {
	var out []string
	for _, a := range actions {
		if a.TargetGroupArn != nil {
			out = append(out, aws.ToString(a.TargetGroupArn))
		}
		if a.ForwardConfig != nil {
			for _, g := range a.ForwardConfig.TargetGroups {
				out = append(out, aws.ToString(g.TargetGroupArn))
			}
		}
	}
	return out
}

// assertBaseGroupAdmits: the base's load balancer group admits 80, 443 and exactly the ports of
// the overlays that exist.
func assertBaseGroupAdmits(t *testing.T, base string, lb elbtypes.LoadBalancer, overlayPorts []int32) {
	t.Helper()
	out, err := clients(t).EC2.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{GroupIds: lb.SecurityGroups})
	must(t, err)
	var got []int32
	for _, g := range out.SecurityGroups {
		for _, p := range g.IpPermissions {
			got = append(got, aws.ToInt32(p.FromPort))
		}
	}
	want := append([]int32{80, 443}, overlayPorts...)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("base %s's load balancer group admits ports %v, want %v", base, got, want)
	}
}

// overlayInventory is what AWS holds of the base and of one overlay: every resource tagged with
// either environment (ARN and tags), the base load balancer's listeners and the rules of the
// groups in its VPC, leaving out the listener and rule on another overlay's port.
func overlayInventory(t *testing.T, base, overlay string, lb elbtypes.LoadBalancer, otherPort int32) []string {
	t.Helper()
	ctx, c := context.Background(), clients(t)
	var out []string
	for _, env := range []string{base, overlay} {
		p := tagging.NewGetResourcesPaginator(c.Tagging, &tagging.GetResourcesInput{TagFilters: []taggingtypes.TagFilter{{Key: aws.String("Environment"), Values: []string{env}}}})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			must(t, err)
			for _, r := range page.ResourceTagMappingList {
				m := tagMap(r.Tags, func(t taggingtypes.Tag) (*string, *string) { return t.Key, t.Value })
				if m["Environment"] == env {
					out = append(out, fmt.Sprintf("%s %v", aws.ToString(r.ResourceARN), m))
				}
			}
		}
	}
	listeners, err := c.ELB.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
	must(t, err)
	for _, l := range listeners.Listeners {
		if aws.ToInt32(l.Port) != otherPort {
			out = append(out, fmt.Sprintf("listener %s :%d", aws.ToString(l.ListenerArn), aws.ToInt32(l.Port)))
		}
	}
	sgs, err := c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{aws.ToString(lb.VpcId)}}}})
	must(t, err)
	for _, g := range sgs.SecurityGroups {
		if g.GroupName != nil && aws.ToString(g.GroupName) != "default" && !strings.HasSuffix(aws.ToString(g.GroupName), "-"+overlay) && !strings.HasSuffix(aws.ToString(g.GroupName), "-"+base) {
			continue // the other overlay's, on its way out
		}
		for _, p := range append(g.IpPermissions, g.IpPermissionsEgress...) {
			if aws.ToInt32(p.FromPort) != otherPort {
				out = append(out, fmt.Sprintf("group %s rule %s", aws.ToString(g.GroupId), permissionString(p)))
			}
		}
	}
	sort.Strings(out)
	return out
}

func permissionString(p ec2types.IpPermission) string {
	var peers []string
	for _, r := range p.IpRanges {
		peers = append(peers, aws.ToString(r.CidrIp)+" "+aws.ToString(r.Description))
	}
	for _, g := range p.UserIdGroupPairs {
		peers = append(peers, aws.ToString(g.GroupId))
	}
	sort.Strings(peers)
	return fmt.Sprintf("%s %d-%d %v", aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort), peers)
}

// An overlay the base load balancer has no room for is refused before any change, with the
// numbers: the base's own six target groups plus 89 more that the rules of another listener
// forward to make 95, and the overlay's three services need six.
func TestOverlayIsRefusedAtTheTargetGroupLimit(t *testing.T) {
	base, lb := withBase(t)
	fillTargetGroups(t, lb, 89)
	env, dir := newEnvName(t), t.TempDir()
	r := tapctl(t, dir, "up", "--env", env, "--base", base)
	oneLineError(t, r.Code, lastLine(r.Stderr), "holds 95 target groups of the 100 AWS allows; overlay "+env+" needs 6 more")
	if m := r.Calls.Mutating(); len(m) != 0 {
		t.Errorf("the refused up made mutating calls: %v", m)
	}
}

// lastLine is the last line of a run's stderr: the error, after the JSON log lines.
func lastLine(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	return lines[len(lines)-1]
}

// fillTargetGroups makes n target groups in the base's VPC that the rules of a listener of the
// test's own on the base load balancer forward to, five per rule; all go at the test's end.
func fillTargetGroups(t *testing.T, lb elbtypes.LoadBalancer, n int) {
	t.Helper()
	ctx, c := context.Background(), clients(t)
	suffix := newEnvName(t)
	var arns []string
	t.Cleanup(func() {
		for _, arn := range arns {
			if _, err := c.ELB.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(arn)}); err != nil {
				t.Errorf("deleting the filler target group %s: %v", arn, err)
			}
		}
	})
	for i := range n {
		out, err := c.ELB.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
			Name: aws.String(fmt.Sprintf("fill%d-%s", i, suffix)), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80),
			VpcId: lb.VpcId, TargetType: elbtypes.TargetTypeEnumIp,
		})
		must(t, err)
		arns = append(arns, aws.ToString(out.TargetGroups[0].TargetGroupArn))
	}
	l, err := c.ELB.CreateListener(ctx, &elbv2.CreateListenerInput{
		LoadBalancerArn: lb.LoadBalancerArn, Port: aws.Int32(9000), Protocol: elbtypes.ProtocolEnumHttp,
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("404")}}},
	})
	must(t, err)
	t.Cleanup(func() { // runs before the target groups' cleanup: they are attached until then
		if _, err := c.ELB.DeleteListener(ctx, &elbv2.DeleteListenerInput{ListenerArn: l.Listeners[0].ListenerArn}); err != nil {
			t.Errorf("deleting the filler listener: %v", err)
		}
	})
	for i := 0; i < len(arns); i += 5 {
		var tuples []elbtypes.TargetGroupTuple
		for _, arn := range arns[i:min(i+5, len(arns))] {
			tuples = append(tuples, elbtypes.TargetGroupTuple{TargetGroupArn: aws.String(arn), Weight: aws.Int32(1)})
		}
		_, err := c.ELB.CreateRule(ctx, &elbv2.CreateRuleInput{
			ListenerArn: l.Listeners[0].ListenerArn, Priority: aws.Int32(int32(100 + i)),
			Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{fmt.Sprintf("/fill%d/*", i)}}}},
			Actions:    []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: tuples}}},
		})
		must(t, err)
	}
}

// overlayImage is the image an overlay's service runs, in its base's cluster.
func overlayImage(t *testing.T, base, env, svc string) string {
	t.Helper()
	ctx, c := context.Background(), clients(t)
	out, err := c.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(naming.Names{Env: base}.Cluster()), Services: []string{naming.Names{Env: env}.Service(svc)}})
	must(t, err)
	if len(out.Services) != 1 {
		t.Fatalf("no service %s of %s in the base cluster", svc, env)
	}
	td, err := c.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: out.Services[0].TaskDefinition})
	must(t, err)
	return aws.ToString(td.TaskDefinition.ContainerDefinitions[0].Image)
}
