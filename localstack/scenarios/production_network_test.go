package scenarios

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/localstack"
	"github.com/tapctl/tapctl/provision"
)

// writeNetwork writes the default services with a network section as the catalog file.
func writeNetwork(t *testing.T, dir string, n catalog.Network) string {
	t.Helper()
	path := filepath.Join(dir, "tapctl.yaml")
	must(t, os.WriteFile(path, catalog.TemplateFile(catalog.File{Services: catalog.Default(), Network: n}), 0o644))
	return path
}

var (
	oneNAT    = catalog.Network{NATGateways: 1, GatewayEndpoints: true}
	threeNATs = catalog.Network{NATGateways: 3, GatewayEndpoints: true}
	// production is everything issue 18 offers.
	production = catalog.Network{NATGateways: 3, GatewayEndpoints: true, InterfaceEndpoints: catalog.InterfaceKinds}
)

// The production network read back: three NAT gateways in three AZs, each private subnet's
// route table sending 0.0.0.0/0 to its own AZ's; the S3 and DynamoDB gateway endpoints on the
// private route tables; the ECR API, ECR Docker and Logs interface endpoints in the private
// subnets with private DNS and their security group (443 from the private subnets). A second up
// changes nothing, status lists every resource present, and down leaves nothing.
func TestProductionNetworkReadBack(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	path := writeNetwork(t, dir, production)
	tapctl(t, dir, "up", "--env", env, "--no-wait", "--config", path).mustSucceed(t)
	n := assertNetworkOf(t, env, 3)
	assertEndpoints(t, env, n, true, catalog.InterfaceKinds)

	again := tapctl(t, dir, "up", "--env", env, "--no-wait", "--config", path).mustSucceed(t)
	if m := again.Calls.Mutating(); len(m) != 0 {
		t.Errorf("second up made mutating calls %v", m)
	}
	status := tapctl(t, dir, "status", "--env", env).mustSucceed(t)
	for _, want := range []string{"microservices-nat-3-" + env, "microservices-nat-eip-2-" + env, "microservices-vpce-ecr.dkr-" + env,
		"microservices-vpce-s3-" + env, "microservices-vpce-sg-" + env, "microservices-private-3-rt-" + env} {
		if !strings.Contains(status.Stdout, want) {
			t.Errorf("status does not list %s:\n%s", want, status.Stdout)
		}
	}
	down := tapctl(t, dir, "down", "--yes", "--env", env).mustSucceed(t)
	if left := readNetwork(t, env); left.count() != 0 {
		t.Errorf("down left %d network resources: %+v", left.count(), left)
	}
	if left := leftovers(t, env); len(left) != 0 {
		t.Errorf("down left %v", left)
	}
	// Down deletes the endpoints, and waits until they and their interfaces are gone, before
	// the subnets and the security groups.
	calls := down.Calls.Snapshot()
	if calls["EC2.DeleteVpcEndpoints"] != 5 {
		t.Errorf("down made %d DeleteVpcEndpoints, want 5", calls["EC2.DeleteVpcEndpoints"])
	}
}

// routeProbe checks, after every mutating EC2 call of a run, that each private subnet of the
// environment is associated with a route table whose 0.0.0.0/0 goes to an available NAT
// gateway: what "nothing unreachable in between" means for a change of the NAT gateways.
type routeProbe struct {
	t        *testing.T
	env      string
	mu       sync.Mutex
	checks   int
	failures []string
}

func (p *routeProbe) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("testRouteProbe",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleInitialize(ctx, in)
			op := middleware.GetOperationName(ctx)
			if awsmiddleware.GetServiceID(ctx) == "EC2" && !strings.HasPrefix(op, "Describe") {
				p.check(op)
			}
			return out, md, err
		}), middleware.After)
}

func (p *routeProbe) check(after string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.checks++
	if bad := unroutedPrivateSubnets(p.t, p.env); len(bad) > 0 {
		p.failures = append(p.failures, fmt.Sprintf("after %s: %v", after, bad))
	}
}

// unroutedPrivateSubnets are the private subnets whose route does not reach an available NAT
// gateway (nil while the environment has no private subnet or NAT gateway yet).
func unroutedPrivateSubnets(t *testing.T, env string) []string {
	n := readNetwork(t, env)
	available := map[string]bool{}
	for _, nat := range n.NATs {
		available[aws.ToString(nat.NatGatewayId)] = nat.State == ec2types.NatGatewayStateAvailable
	}
	if len(available) == 0 {
		return nil
	}
	target := map[string]string{} // subnet -> its table's NAT
	for _, rt := range n.RouteTables {
		nat := ""
		for _, r := range rt.Routes {
			if aws.ToString(r.DestinationCidrBlock) == "0.0.0.0/0" {
				nat = aws.ToString(r.NatGatewayId)
			}
		}
		for _, a := range rt.Associations {
			if a.SubnetId != nil {
				target[aws.ToString(a.SubnetId)] = nat
			}
		}
	}
	var bad []string
	for _, sn := range n.Subnets {
		if aws.ToBool(sn.MapPublicIpOnLaunch) {
			continue
		}
		id := aws.ToString(sn.SubnetId)
		if nat, ok := target[id]; ok && !available[nat] {
			bad = append(bad, id+" -> "+nat)
		}
	}
	return bad
}

// natSummary is each AZ's NAT gateway as the state file names it, for the messages.
func natIDs(t *testing.T, n network) []string {
	var ids []string
	for _, nat := range n.NATs {
		ids = append(ids, aws.ToString(nat.NatGatewayId))
	}
	slices.Sort(ids)
	return ids
}

// A live environment goes from one NAT gateway to three and back: plan shows each change; the
// 1 -> 3 up allocates the new addresses and creates the new gateways (each waited available)
// before it re-points the routes; the 3 -> 1 up re-points the routes first, then deletes the
// extra gateways, waits until they are deleted, and only then releases their addresses. After
// every mutating call of both runs, each private subnet's route reaches an available NAT gateway
// (routeProbe), and after each step each reaches its own AZ's (3) or the first AZ's (1).
func TestNATGatewaysOneToThreeToOne(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	path := writeNetwork(t, dir, oneNAT)
	tapctl(t, dir, "up", "--env", env, "--no-wait", "--config", path).mustSucceed(t)
	one := assertNetworkOf(t, env, 1)

	writeNetwork(t, dir, threeNATs)
	_, p := plan(t, dir, env, "--config", path)
	planned := map[string]string{}
	for _, c := range p.Changes {
		planned[c.Resource] = c.Action
	}
	for _, want := range []string{"NAT gateway microservices-nat-2-" + env, "NAT gateway microservices-nat-3-" + env,
		"Elastic IP microservices-nat-eip-2-" + env, "Elastic IP microservices-nat-eip-3-" + env} {
		if planned[want] != "create" {
			t.Errorf("plan 1 -> 3: %s is %q, want create (plan: %v)", want, planned[want], planned)
		}
	}

	probe := &routeProbe{t: t, env: env}
	order := &callOrder{}
	px := startProxy(t)
	up3 := tapctlAt(t, px.URL, dir, []func(*middleware.Stack) error{probe.middleware, order.middleware}, "up", "--env", env, "--no-wait", "--config", path).mustSucceed(t)
	three := assertNetworkOf(t, env, 3)
	assertEndpoints(t, env, three, true, nil)
	calls := up3.Calls.Snapshot()
	m, r := up3.Calls.Totals()
	t.Logf("1 -> 3: %d mutating + %d read calls: %v", m, r, up3.Calls.Mutating())
	if calls["EC2.AllocateAddress"] != 2 || calls["EC2.ReplaceRoute"] != 2 || calls["EC2.DeleteNatGateway"] != 2 {
		// Each new address's first gateway fails (the strict layer's RuleNATFailsOnce) and is
		// deleted and replaced: two creates and a delete per new AZ.
		t.Errorf("1 -> 3 calls: %v", up3.Calls.Mutating())
	}
	assertBefore(t, order.list(), "EC2.CreateNatGateway", "EC2.ReplaceRoute")
	if !slices.Contains(natIDs(t, three), natIDs(t, one)[0]) {
		t.Errorf("the first AZ's NAT gateway %v was replaced: %v", natIDs(t, one), natIDs(t, three))
	}

	writeNetwork(t, dir, oneNAT)
	_, p = plan(t, dir, env, "--config", path)
	planned = map[string]string{}
	for _, c := range p.Changes {
		planned[c.Resource] = c.Action
	}
	for _, want := range []string{"NAT gateway microservices-nat-2-" + env, "Elastic IP microservices-nat-eip-3-" + env} {
		if planned[want] != "delete" {
			t.Errorf("plan 3 -> 1: %s is %q, want delete (plan: %v)", want, planned[want], planned)
		}
	}
	order = &callOrder{}
	up1 := tapctlAt(t, px.URL, dir, []func(*middleware.Stack) error{probe.middleware, order.middleware}, "up", "--env", env, "--no-wait", "--config", path).mustSucceed(t)
	assertNetworkOf(t, env, 1)
	t.Logf("3 -> 1: %v", up1.Calls.Mutating())
	seq := order.list()
	assertBefore(t, seq, "EC2.ReplaceRoute", "EC2.DeleteNatGateway")
	assertPaired(t, seq, "EC2.DeleteNatGateway", "EC2.ReleaseAddress")
	if n := up1.Calls.Snapshot()["EC2.ReleaseAddress"]; n != 2 {
		t.Errorf("3 -> 1 released %d addresses, want 2", n)
	}
	if probe.checks == 0 || len(probe.failures) > 0 {
		t.Errorf("after %d mutating EC2 calls, a private subnet was routed to no available NAT gateway: %v", probe.checks, probe.failures)
	}
	if n := px.StrictFired()[localstack.RuleAddressReleasedWhileHeld]; n != 0 {
		t.Errorf("an address was released %d times while its NAT gateway still held it", n)
	}
	assertInventory(t, dir, env)
}

// assertBefore: every call first happens before the first call then.
func assertBefore(t *testing.T, seq []string, first, then string) {
	t.Helper()
	last, firstThen := -1, -1
	for i, c := range seq {
		if c == first {
			last = i
		}
		if c == then && firstThen < 0 {
			firstThen = i
		}
	}
	if last < 0 || firstThen < 0 || last > firstThen {
		t.Errorf("want every %s before the first %s (at %d and %d)", first, then, last, firstThen)
	}
}

// assertPaired: the k-th call then comes after the k-th call first (each address is released
// after its own gateway's delete; which address is the strict layer's RuleAddressReleasedWhileHeld).
func assertPaired(t *testing.T, seq []string, first, then string) {
	t.Helper()
	firsts := 0
	for i, c := range seq {
		switch c {
		case first:
			firsts++
		case then:
			if firsts == 0 {
				t.Errorf("%s at %d before any %s", then, i, first)
				return
			}
			firsts--
		}
	}
}

// A network section with a bad value is refused in one line, before any AWS call.
func TestNetworkSectionRefusedBeforeAnyCall(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tapctl.yaml")
	must(t, os.WriteFile(path, []byte("network:\n  natGateways: 2\nservices:\n  - name: a\n    priority: 1\n"), 0o644))
	r := tapctl(t, dir, "up", "--env", "pr1", "--config", path)
	assertRefused(t, r, path+":2: network.natGateways: 2: use 1 (one NAT gateway) or 3 (one per AZ)")
	if m, rd := r.Calls.Totals(); m+rd != 0 {
		t.Errorf("a refused catalog made %d calls", m+rd)
	}
}

// crashNATEvery spaces the sampled kill points of the 1 -> 3 change (about 10 mutating calls):
// the first, the last and one or two between; `make crash-sweep` runs every one.
const crashNATEvery = 4

// oneToThreeWants is what the 1 -> 3 change creates and a converged environment keeps: the two
// new Elastic IPs and NAT gateways.
func oneToThreeWants(k createdKind) int {
	switch k.name {
	case "Elastic IP", "NAT gateway":
		return 2
	}
	return 0
}

// A 1 -> 3 up killed right after any of its mutating calls is finished by the next up: three
// NAT gateways, each private subnet routed to its own AZ's available one, and of what the two
// runs created exactly the two new addresses and gateways live on, tagged (no untagged or
// second copy).
func TestKilledOneToThreeNATGatewaysIsFinishedByTheNextUp(t *testing.T) {
	total := func() int {
		p, env, dir := startProxy(t), newEnvName(t), t.TempDir()
		downAtCleanup(t, dir, env)
		path := writeNetwork(t, dir, oneNAT)
		tapctl(t, dir, "up", "--env", env, "--no-wait", "--config", path).mustSucceed(t)
		writeNetwork(t, dir, threeNATs)
		tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--no-wait", "--config", path).mustSucceed(t)
		return p.MutatingCarriedOut()
	}()
	sweepPoints(t, crashPointsEvery(total, crashNATEvery), total, func(t *testing.T, k int) {
		p, again, env, dir := startProxy(t), startProxy(t), newEnvName(t), t.TempDir()
		downAtCleanup(t, dir, env)
		path := writeNetwork(t, dir, oneNAT)
		tapctl(t, dir, "up", "--env", env, "--no-wait", "--config", path).mustSucceed(t)
		writeNetwork(t, dir, threeNATs)
		killed := runKilledAfter(t, p, k, dir, "up", "--env", env, "--no-wait", "--config", path)
		assertStateReadable(t, dir, env)
		defer logJournalOnFailure(t, killed, p, again)
		if bad := unroutedPrivateSubnets(t, env); len(bad) > 0 {
			t.Errorf("killed after %s: private subnets routed to no available NAT gateway: %v", killed.After, bad)
		}
		tapctlAt(t, again.URL, dir, nil, "up", "--env", env, "--no-wait", "--config", path).mustSucceed(t)
		n := assertNetworkOf(t, env, 3)
		assertEndpoints(t, env, n, true, nil)
		assertCreatedAreTheInventoryOf(t, append(p.Journal(), again.Journal()...), env, oneToThreeWants)
	})
}

// natQuotaRegion is a region no other scenario makes resources in (quotaRegion is
// TestUpRefusesAnEnvironmentBeyondTheRegionsQuota's).
const natQuotaRegion = "ca-central-1"

// The 1 -> 3 change needs two more Elastic IPs: with room for one, up refuses before any
// change, in one line with the numbers; with room for two it goes ahead.
func TestOneToThreeNATGatewaysRefusedBeyondTheElasticIPQuota(t *testing.T) {
	ctx, p := context.Background(), startProxy(t)
	p.RaisedQuotas.Store(false)
	c := regionClients(t, p.URL, natQuotaRegion)
	env, dir := newEnvName(t), t.TempDir()
	run := func(args ...string) result {
		return tapctlAt(t, p.URL, dir, nil, append([]string{"--region", natQuotaRegion}, args...)...)
	}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(dir, env+".json")); err != nil {
			return
		}
		if r := run("down", "--yes", "--env", env); r.Code != 0 {
			t.Errorf("taking %s down: exit %d\n%s", env, r.Code, tail(r.Stderr, 5))
		}
	})
	path := writeNetwork(t, dir, oneNAT)
	run("up", "--env", env, "--no-wait", "--config", path).mustSucceed(t)

	// The region holds one Elastic IP fewer than the quota: room for one, not two.
	var fillers []string
	for i := countEIPs(t, c.EC2); i < defaultEIPs-1; i++ {
		out, err := c.EC2.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
		must(t, err)
		fillers = append(fillers, aws.ToString(out.AllocationId))
	}
	release := func(id string) {
		if _, err := c.EC2.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: aws.String(id)}); err != nil && !cloud.IsNotFound(err) {
			t.Errorf("releasing the filler Elastic IP %s: %v", id, err)
		}
	}
	t.Cleanup(func() {
		for _, id := range fillers {
			release(id)
		}
	})
	if n := countEIPs(t, c.EC2); n != defaultEIPs-1 {
		t.Fatalf("the region holds %d Elastic IPs before the test's fillers; it needs room", n)
	}
	writeNetwork(t, dir, threeNATs)
	want := fmt.Sprintf("region %s holds %d of %d Elastic IPs (quota %s); this up needs 2 more Elastic IPs (one Elastic IP per new NAT gateway, network.natGateways): delete some, raise the quota, or keep natGateways: 1",
		natQuotaRegion, defaultEIPs-1, defaultEIPs, provision.QuotaElasticIPs)
	assertQuotaRefusal(t, run("up", "--env", env, "--no-wait", "--config", path), want)
	assertQuotaRefusal(t, run("plan", "--env", env, "--config", path), want)

	release(fillers[0])
	fillers = fillers[1:]
	run("up", "--env", env, "--no-wait", "--config", path).mustSucceed(t)
}

// With the state file gone, up adopts the production network's NAT gateways, addresses, route
// tables, endpoints and endpoint group instead of creating second copies, and down finds them
// all by their tags.
func TestLostStateProductionNetworkIsAdoptedAndTakenDown(t *testing.T) {
	env, dir, p := newEnvName(t), t.TempDir(), startProxy(t)
	downAtCleanup(t, dir, env)
	path := writeNetwork(t, dir, production)
	tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--no-wait", "--config", path).mustSucceed(t)
	statePath := filepath.Join(dir, env+".json")

	must(t, os.Remove(statePath))
	adopt := tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--no-wait", "--config", path).mustSucceed(t)
	for _, call := range adopt.Calls.Mutating() {
		if strings.Contains(call, ".Create") || strings.Contains(call, ".Allocate") || strings.Contains(call, ".Register") {
			t.Errorf("up without a state file created something: %s", call)
		}
	}
	for _, key := range []string{"nat-gateway/1", "nat-gateway/2", "elastic-ip/2", "route-table/private-3", "vpc-endpoint/s3", "vpc-endpoint/logs", "endpoint-security-group"} {
		stateResource(t, dir, env, key) // fails the test when not recorded
	}
	n := assertNetworkOf(t, env, 3)
	assertEndpoints(t, env, n, true, catalog.InterfaceKinds)

	must(t, os.Remove(statePath))
	tapctlAt(t, p.URL, dir, nil, "down", "--yes", "--env", env).mustSucceed(t)
	if left := readNetwork(t, env); left.count() != 0 {
		t.Errorf("down without a state file left %d network resources", left.count())
	}
	if left := leftovers(t, env); len(left) != 0 {
		t.Errorf("down without a state file left %v", left)
	}
	assertCreatedAreGone(t, p.Journal())
}

// Endpoints are added to and removed from a live environment: plan shows each change, up makes
// it, and the endpoints' security group goes once no interface endpoint is wanted.
func TestEndpointsAddedAndRemovedOnALiveEnvironment(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	path := writeNetwork(t, dir, oneNAT)
	tapctl(t, dir, "up", "--env", env, "--no-wait", "--config", path).mustSucceed(t)

	planned := func() map[string]string {
		_, p := plan(t, dir, env, "--config", path)
		out := map[string]string{}
		for _, c := range p.Changes {
			out[c.Resource] = c.Action
		}
		return out
	}
	ep := func(kind string) string { return "VPC endpoint microservices-vpce-" + kind + "-" + env }
	group := "security group microservices-vpce-sg-" + env

	writeNetwork(t, dir, catalog.Network{NATGateways: 1, GatewayEndpoints: true, InterfaceEndpoints: []string{"ecr.api", "logs"}})
	got := planned()
	for _, want := range []string{ep("ecr.api"), ep("logs"), group} {
		if got[want] != "create" {
			t.Errorf("plan: %s is %q, want create (%v)", want, got[want], got)
		}
	}
	tapctl(t, dir, "up", "--env", env, "--no-wait", "--config", path).mustSucceed(t)
	assertEndpoints(t, env, assertNetworkOf(t, env, 1), true, []string{"ecr.api", "logs"})

	writeNetwork(t, dir, catalog.Network{NATGateways: 1})
	got = planned()
	for _, want := range []string{ep("ecr.api"), ep("logs"), ep("s3"), ep("dynamodb"), group} {
		if got[want] != "delete" {
			t.Errorf("plan: %s is %q, want delete (%v)", want, got[want], got)
		}
	}
	tapctl(t, dir, "up", "--env", env, "--no-wait", "--config", path).mustSucceed(t)
	assertEndpoints(t, env, assertNetworkOf(t, env, 1), false, nil)
	groups, err := clients(t).EC2.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{"microservices-vpce-sg-" + env}}}})
	must(t, err)
	if len(groups.SecurityGroups) != 0 {
		t.Errorf("the endpoints' security group outlived the last interface endpoint")
	}
	again := tapctl(t, dir, "up", "--env", env, "--no-wait", "--config", path).mustSucceed(t)
	if m := again.Calls.Mutating(); len(m) != 0 {
		t.Errorf("an up after the removal made mutating calls %v", m)
	}
}

// The figures of the 1 -> 3 change for the closing note and the README, through the
// timing model (NAT gateways pending 90 s × factor, 50 ms a call) without the strict layer's
// failing first gateway. No timing is asserted; TAPCTL_MEASURE is the model's factor (1: AWS's
// figures; 0.1 is quicker), e.g.
// TAPCTL_MEASURE=1 go test -count=1 -v -run TestMeasureOneToThreeNATGateways ./localstack/scenarios/
func TestMeasureOneToThreeNATGateways(t *testing.T) {
	factor, err := strconv.ParseFloat(os.Getenv("TAPCTL_MEASURE"), 64)
	if err != nil || factor <= 0 {
		t.Skip("set TAPCTL_MEASURE to the timing model's factor (1, or 0.1) to measure the 1 -> 3 change")
	}
	p, err := localstack.NewTimingProxy(localstack.BareEndpoint(t), localstack.Timing{Factor: factor, Latency: 50 * time.Millisecond})
	must(t, err)
	defer p.Close()
	p.Strict.Store(false)
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	path := writeNetwork(t, dir, oneNAT)
	tapctl(t, dir, "up", "--env", env, "--no-wait", "--config", path).mustSucceed(t)
	writeNetwork(t, dir, threeNATs)
	r := tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--no-wait", "--config", path).mustSucceed(t)
	m, rd := r.Calls.Totals()
	t.Logf("1 -> 3 at timing factor %g: %d mutating %v + %d read calls, wall %s",
		factor, m, r.Calls.Mutating(), rd, r.Elapsed.Round(10*time.Millisecond))
	assertNetworkOf(t, env, 3)
}

// A VPC endpoint in the environment's VPC with the environment's endpoint name but not tagged as
// tapctl's (made by hand or by another tool) is never adopted: up with that endpoint wanted is
// refused before any change, naming it, and the endpoint is left as it was.
func TestForeignEndpointWithTheEnvironmentsNameIsNeverAdopted(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	path := writeNetwork(t, dir, oneNAT)
	tapctl(t, dir, "up", "--env", env, "--no-wait", "--config", path).mustSucceed(t)
	ctx, c := context.Background(), clients(t).EC2
	n := readNetwork(t, env)
	var private []string
	for _, sn := range n.Subnets {
		if !aws.ToBool(sn.MapPublicIpOnLaunch) {
			private = append(private, aws.ToString(sn.SubnetId))
		}
	}
	name := "microservices-vpce-logs-" + env
	out, err := c.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{
		VpcId: n.VPCs[0].VpcId, ServiceName: aws.String("com.amazonaws.us-east-1.logs"), VpcEndpointType: ec2types.VpcEndpointTypeInterface,
		SubnetIds: private[:1],
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeVpcEndpoint, Tags: []ec2types.Tag{
			{Key: aws.String("Name"), Value: aws.String(name)}, {Key: aws.String("Environment"), Value: aws.String(env)}}}},
	})
	must(t, err)
	foreign := aws.ToString(out.VpcEndpoint.VpcEndpointId)
	t.Cleanup(func() {
		_, err := c.DeleteVpcEndpoints(ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: []string{foreign}})
		must(t, err)
	})

	writeNetwork(t, dir, catalog.Network{NATGateways: 1, GatewayEndpoints: true, InterfaceEndpoints: []string{"logs"}})
	r := tapctl(t, dir, "up", "--env", env, "--no-wait", "--config", path)
	if r.Code != 1 || !strings.Contains(r.Stderr, "VPC endpoint "+name) || !strings.Contains(r.Stderr, "not tapctl's") {
		t.Errorf("up with a foreign endpoint of the environment's name: exit %d\n%s", r.Code, tail(r.Stderr, 5))
	}
	if m := r.Calls.Mutating(); len(m) != 0 {
		t.Errorf("the refused up made mutating calls %v", m)
	}
	after, err := c.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{foreign}})
	must(t, err)
	if got := ec2Tags(after.VpcEndpoints[0].Tags); got["ManagedBy"] != "" || len(after.VpcEndpoints[0].Groups) != 0 || len(after.VpcEndpoints[0].SubnetIds) != 1 {
		t.Errorf("the foreign endpoint was changed: tags %v, groups %v, subnets %v", got, after.VpcEndpoints[0].Groups, after.VpcEndpoints[0].SubnetIds)
	}
	// Its own down leaves the foreign endpoint too (the cleanup above deletes it).
	writeNetwork(t, dir, oneNAT)
	tapctl(t, dir, "down", "--yes", "--env", env)
	after, err = c.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{foreign}})
	must(t, err)
	if strings.EqualFold(string(after.VpcEndpoints[0].State), "deleted") {
		t.Errorf("down deleted the foreign endpoint")
	}
}
