package scenarios

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// network is what EC2 holds for one environment, found by its Environment tag.
type network struct {
	VPCs        []ec2types.Vpc
	Subnets     []ec2types.Subnet
	IGWs        []ec2types.InternetGateway
	NATs        []ec2types.NatGateway
	Addresses   []ec2types.Address
	RouteTables []ec2types.RouteTable
	Endpoints   []ec2types.VpcEndpoint // not deleted
}

func (n network) count() int {
	return len(n.VPCs) + len(n.Subnets) + len(n.IGWs) + len(n.NATs) + len(n.Addresses) + len(n.RouteTables) + len(n.Endpoints)
}

func readNetwork(t *testing.T, env string) network {
	t.Helper()
	ctx, c := context.Background(), clients(t).EC2
	byEnv := []ec2types.Filter{{Name: aws.String("tag:Environment"), Values: []string{env}}}
	var n network
	vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: byEnv})
	must(t, err)
	n.VPCs = vpcs.Vpcs
	subnets, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: byEnv})
	must(t, err)
	n.Subnets = subnets.Subnets
	igws, err := c.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: byEnv})
	must(t, err)
	n.IGWs = igws.InternetGateways
	nats, err := c.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{Filter: append(byEnv, ec2types.Filter{Name: aws.String("state"), Values: []string{"pending", "available", "deleting"}})})
	must(t, err)
	for _, nat := range nats.NatGateways { // moto ignores tag filters here; check the tags
		if ec2Tags(nat.Tags)["Environment"] == env && nat.State != ec2types.NatGatewayStateDeleted {
			n.NATs = append(n.NATs, nat)
		}
	}
	addrs, err := c.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: byEnv})
	must(t, err)
	n.Addresses = addrs.Addresses
	rts, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: byEnv})
	must(t, err)
	n.RouteTables = rts.RouteTables
	eps, err := c.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{Filters: byEnv})
	must(t, err)
	for _, ep := range eps.VpcEndpoints {
		if ec2Tags(ep.Tags)["Environment"] == env && !strings.EqualFold(string(ep.State), "deleted") {
			n.Endpoints = append(n.Endpoints, ep)
		}
	}
	return n
}

// assertNetwork checks SPEC rows 1-5 as EC2 holds them, for the default network (one NAT gateway).
func assertNetwork(t *testing.T, env string) network {
	t.Helper()
	n := assertNetworkOf(t, env, 1)
	assertEndpoints(t, env, n, true, nil)
	return n
}

// assertEndpoints checks the environment's VPC endpoints: with gateway, the S3 and DynamoDB
// gateway endpoints on exactly the three private route tables; each interface endpoint of
// interfaces in the three private subnets, private DNS on, with the endpoints' security group,
// which admits 443 from each private subnet; nothing else.
func assertEndpoints(t *testing.T, env string, n network, gateway bool, interfaces []string) {
	t.Helper()
	ctx, c := context.Background(), clients(t).EC2
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = "us-east-1"
	}
	private, privateTables := map[string]bool{}, map[string]bool{}
	for _, sn := range n.Subnets {
		if !aws.ToBool(sn.MapPublicIpOnLaunch) {
			private[aws.ToString(sn.SubnetId)] = true
		}
	}
	for _, rt := range n.RouteTables {
		for _, a := range rt.Associations {
			if private[aws.ToString(a.SubnetId)] {
				privateTables[aws.ToString(rt.RouteTableId)] = true
			}
		}
	}
	want := map[string]ec2types.VpcEndpointType{}
	if gateway {
		want["s3"], want["dynamodb"] = ec2types.VpcEndpointTypeGateway, ec2types.VpcEndpointTypeGateway
	}
	for _, k := range interfaces {
		want[k] = ec2types.VpcEndpointTypeInterface
	}
	if len(n.Endpoints) != len(want) {
		t.Errorf("%d VPC endpoints, want %d (%v)", len(n.Endpoints), len(want), want)
	}
	for _, ep := range n.Endpoints {
		assertTagged(t, env, "VPC endpoint", ep.Tags)
		kind := strings.TrimPrefix(aws.ToString(ep.ServiceName), "com.amazonaws."+region+".")
		wantType, ok := want[kind]
		if !ok || ep.VpcEndpointType != wantType {
			t.Errorf("VPC endpoint %s (%s, %s) not wanted", aws.ToString(ep.VpcEndpointId), aws.ToString(ep.ServiceName), ep.VpcEndpointType)
			continue
		}
		if aws.ToString(ep.VpcId) != aws.ToString(n.VPCs[0].VpcId) {
			t.Errorf("VPC endpoint %s not in the VPC", kind)
		}
		if wantType == ec2types.VpcEndpointTypeGateway {
			got := map[string]bool{}
			for _, id := range ep.RouteTableIds {
				got[id] = true
			}
			if len(got) != 3 || !mapsEqual(got, privateTables) {
				t.Errorf("gateway endpoint %s on route tables %v, want the private ones %v", kind, ep.RouteTableIds, privateTables)
			}
			continue
		}
		got := map[string]bool{}
		for _, id := range ep.SubnetIds {
			got[id] = true
		}
		if len(got) != 3 || !mapsEqual(got, private) {
			t.Errorf("interface endpoint %s in subnets %v, want the private ones", kind, ep.SubnetIds)
		}
		if !aws.ToBool(ep.PrivateDnsEnabled) {
			t.Errorf("interface endpoint %s: private DNS off", kind)
		}
		if len(ep.Groups) != 1 {
			t.Errorf("interface endpoint %s security groups %+v, want the endpoints' one", kind, ep.Groups)
			continue
		}
		out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{aws.ToString(ep.Groups[0].GroupId)}})
		must(t, err)
		g := out.SecurityGroups[0]
		assertTagged(t, env, "endpoint security group", g.Tags)
		cidrs := map[string]bool{}
		for _, p := range g.IpPermissions {
			if aws.ToString(p.IpProtocol) != "tcp" || aws.ToInt32(p.FromPort) != 443 || aws.ToInt32(p.ToPort) != 443 {
				t.Errorf("endpoint security group admits %+v, want only 443", p)
			}
			for _, r := range p.IpRanges {
				cidrs[aws.ToString(r.CidrIp)] = true
			}
		}
		if !mapsEqual(cidrs, map[string]bool{"10.0.3.0/24": true, "10.0.4.0/24": true, "10.0.5.0/24": true}) {
			t.Errorf("endpoint security group admits 443 from %v, want the private subnets", cidrs)
		}
	}
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// assertNetworkOf checks SPEC rows 1-5 with natGateways NAT gateways (1 or 3): each in its
// AZ's public subnet, and each private subnet's route table sending 0.0.0.0/0 to the available
// NAT gateway of its own AZ (3) or of the first AZ (1).
func assertNetworkOf(t *testing.T, env string, natGateways int) network {
	t.Helper()
	ctx, c := context.Background(), clients(t).EC2
	n := readNetwork(t, env)
	if len(n.VPCs) != 1 {
		t.Fatalf("want 1 VPC tagged %s, got %d", env, len(n.VPCs))
	}
	vpc := n.VPCs[0]
	vpcID := aws.ToString(vpc.VpcId)
	if got := aws.ToString(vpc.CidrBlock); got != "10.0.0.0/16" {
		t.Errorf("VPC CIDR = %s", got)
	}
	for _, attr := range []ec2types.VpcAttributeName{ec2types.VpcAttributeNameEnableDnsSupport, ec2types.VpcAttributeNameEnableDnsHostnames} {
		out, err := c.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: vpc.VpcId, Attribute: attr})
		must(t, err)
		v := out.EnableDnsSupport
		if attr == ec2types.VpcAttributeNameEnableDnsHostnames {
			v = out.EnableDnsHostnames
		}
		if v == nil || !aws.ToBool(v.Value) {
			t.Errorf("VPC %s is off", attr)
		}
	}

	wantSubnets := map[string]bool{ // CIDR -> public
		"10.0.0.0/24": true, "10.0.1.0/24": true, "10.0.2.0/24": true,
		"10.0.3.0/24": false, "10.0.4.0/24": false, "10.0.5.0/24": false,
	}
	if len(n.Subnets) != 6 {
		t.Fatalf("want 6 subnets, got %d", len(n.Subnets))
	}
	azs := map[bool]map[string]bool{true: {}, false: {}}
	subnetPublic := map[string]bool{}
	subnetAZ := map[string]string{}
	var firstPublic string
	for _, sn := range n.Subnets {
		cidr := aws.ToString(sn.CidrBlock)
		public, ok := wantSubnets[cidr]
		if !ok {
			t.Errorf("unexpected subnet CIDR %s", cidr)
			continue
		}
		if aws.ToString(sn.VpcId) != vpcID {
			t.Errorf("subnet %s not in the VPC", cidr)
		}
		if aws.ToBool(sn.MapPublicIpOnLaunch) != public {
			t.Errorf("subnet %s MapPublicIpOnLaunch = %t, want %t", cidr, aws.ToBool(sn.MapPublicIpOnLaunch), public)
		}
		azs[public][aws.ToString(sn.AvailabilityZone)] = true
		subnetPublic[aws.ToString(sn.SubnetId)] = public
		subnetAZ[aws.ToString(sn.SubnetId)] = aws.ToString(sn.AvailabilityZone)
		if cidr == "10.0.0.0/24" {
			firstPublic = aws.ToString(sn.SubnetId)
		}
	}
	if len(azs[true]) != 3 || len(azs[false]) != 3 {
		t.Errorf("subnets span %d public and %d private AZs, want 3 and 3", len(azs[true]), len(azs[false]))
	}

	if len(n.IGWs) != 1 {
		t.Fatalf("want 1 internet gateway, got %d", len(n.IGWs))
	}
	igw := n.IGWs[0]
	if len(igw.Attachments) != 1 || aws.ToString(igw.Attachments[0].VpcId) != vpcID {
		t.Errorf("internet gateway attachments = %+v, want the VPC", igw.Attachments)
	}

	if len(n.NATs) != natGateways {
		t.Fatalf("want %d NAT gateways, got %d", natGateways, len(n.NATs))
	}
	natInAZ := map[string]string{} // AZ -> NAT gateway
	var firstNAT string
	addresses := map[string]bool{}
	for _, a := range n.Addresses {
		addresses[aws.ToString(a.AllocationId)] = true
	}
	for _, nat := range n.NATs {
		if nat.State != ec2types.NatGatewayStateAvailable {
			t.Errorf("NAT %s state = %s", aws.ToString(nat.NatGatewayId), nat.State)
		}
		if !subnetPublic[aws.ToString(nat.SubnetId)] {
			t.Errorf("NAT %s in subnet %s, want a public subnet", aws.ToString(nat.NatGatewayId), aws.ToString(nat.SubnetId))
		}
		natInAZ[subnetAZ[aws.ToString(nat.SubnetId)]] = aws.ToString(nat.NatGatewayId)
		if aws.ToString(nat.SubnetId) == firstPublic {
			firstNAT = aws.ToString(nat.NatGatewayId)
		}
		if len(nat.NatGatewayAddresses) != 1 || !addresses[aws.ToString(nat.NatGatewayAddresses[0].AllocationId)] {
			t.Errorf("NAT addresses %+v do not use a tagged Elastic IP", nat.NatGatewayAddresses)
		}
		assertTagged(t, env, "NAT gateway", nat.Tags)
	}
	if firstNAT == "" {
		t.Errorf("no NAT gateway in the first public subnet %s", firstPublic)
	}
	if len(natInAZ) != natGateways {
		t.Errorf("NAT gateways in %d AZs, want %d", len(natInAZ), natGateways)
	}
	if len(n.Addresses) != natGateways {
		t.Fatalf("want %d Elastic IPs, got %d", natGateways, len(n.Addresses))
	}

	if len(n.RouteTables) != 4 {
		t.Fatalf("want 4 route tables (public, and one per private subnet), got %d", len(n.RouteTables))
	}
	associated := map[string]bool{}
	for _, rt := range n.RouteTables {
		var target string
		for _, r := range rt.Routes {
			if aws.ToString(r.DestinationCidrBlock) == "0.0.0.0/0" {
				target = aws.ToString(r.GatewayId) + aws.ToString(r.NatGatewayId)
			}
		}
		kinds := map[bool]int{}
		var az string
		for _, a := range rt.Associations {
			if a.SubnetId != nil {
				associated[aws.ToString(a.SubnetId)] = true
				kinds[subnetPublic[aws.ToString(a.SubnetId)]]++
				az = subnetAZ[aws.ToString(a.SubnetId)]
			}
		}
		switch {
		case kinds[true] == 3 && kinds[false] == 0:
			if target != aws.ToString(igw.InternetGatewayId) {
				t.Errorf("public default route -> %q, want the internet gateway", target)
			}
		case kinds[false] == 1 && kinds[true] == 0:
			want := firstNAT
			if natGateways == 3 {
				want = natInAZ[az]
			}
			if target != want {
				t.Errorf("private default route of %s (%s) -> %q, want NAT gateway %s", aws.ToString(rt.RouteTableId), az, target, want)
			}
		default:
			t.Errorf("route table %s associations: %d public, %d private", aws.ToString(rt.RouteTableId), kinds[true], kinds[false])
		}
	}
	if len(associated) != 6 {
		t.Errorf("%d subnets associated, want 6", len(associated))
	}

	assertTagged(t, env, "VPC", vpc.Tags)
	for _, sn := range n.Subnets {
		assertTagged(t, env, "subnet", sn.Tags)
	}
	assertTagged(t, env, "internet gateway", igw.Tags)
	for _, a := range n.Addresses {
		assertTagged(t, env, "Elastic IP", a.Tags)
	}
	for _, rt := range n.RouteTables {
		assertTagged(t, env, "route table", rt.Tags)
	}
	return n
}

func assertTagged(t *testing.T, env, what string, tags []ec2types.Tag) {
	t.Helper()
	m := ec2Tags(tags)
	if m["Environment"] != env || m["ManagedBy"] != "tapctl" || m["Name"] == "" {
		t.Errorf("%s tags = %v, want Environment=%s ManagedBy=tapctl and a Name", what, m, env)
	}
}

func TestSecondUpMakesNoMutatingCalls(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	tapctl(t, dir, "up", "--env", env).mustSucceed(t)
	before, err := os.ReadFile(filepath.Join(dir, env+".json"))
	must(t, err)

	second := tapctl(t, dir, "up", "--env", env).mustSucceed(t)
	if mutating := second.Calls.Mutating(); len(mutating) != 0 {
		t.Errorf("second up made mutating calls: %v", mutating)
	}
	// The read budget of a no-change up: one read per kind of resource where the API allows,
	// still reading back every setting that drift correction compares.
	const readBudget = 60
	if _, reads := second.Calls.Totals(); reads > readBudget {
		t.Errorf("no-change up made %d read calls, budget %d: %v", reads, readBudget, second.Calls.Snapshot())
	}
	after, err := os.ReadFile(filepath.Join(dir, env+".json"))
	must(t, err)
	if string(before) != string(after) {
		t.Errorf("second up rewrote the state file")
	}
	assertNetwork(t, env)
}

func TestUpRecreatesWhatWasDeletedBehindItsBack(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	tapctl(t, dir, "up", "--env", env).mustSucceed(t)
	n := readNetwork(t, env)
	ctx, c := context.Background(), clients(t).EC2
	for _, rt := range n.RouteTables {
		for _, r := range rt.Routes {
			if r.NatGatewayId != nil {
				_, err := c.DeleteRoute(ctx, &ec2.DeleteRouteInput{RouteTableId: rt.RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0")})
				must(t, err)
			}
		}
	}
	// A hand-made change to a subnet is drift too.
	for _, sn := range n.Subnets {
		if aws.ToBool(sn.MapPublicIpOnLaunch) {
			_, err := c.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{SubnetId: sn.SubnetId, MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: aws.Bool(false)}})
			must(t, err)
			break
		}
	}

	fix := tapctl(t, dir, "up", "--env", env).mustSucceed(t)
	got := fix.Calls.Mutating()
	want := []string{"EC2.CreateRoute", "EC2.CreateRoute", "EC2.CreateRoute", "EC2.ModifySubnetAttribute"} // one route per private table
	if !equal(got, want) {
		t.Errorf("repair calls = %v, want %v", got, want)
	}
	assertNetwork(t, env)
}

func TestDownRemovesEverythingAndUpWorksAgain(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	tapctl(t, dir, "up", "--env", env).mustSucceed(t)
	tapctl(t, dir, "down", "--yes", "--env", env).mustSucceed(t)
	if n := readNetwork(t, env); n.count() != 0 {
		t.Fatalf("after down, %d resources remain tagged %s: %+v", n.count(), env, n)
	}
	if _, err := os.Stat(filepath.Join(dir, env+".json")); !os.IsNotExist(err) {
		t.Errorf("state file still there after down: %v", err)
	}
	tapctl(t, dir, "up", "--env", env).mustSucceed(t)
	assertNetwork(t, env)
	tapctl(t, dir, "down", "--yes", "--env", env).mustSucceed(t)
	// down of an environment that is already gone is fine.
	again := tapctl(t, dir, "down", "--yes", "--env", env).mustSucceed(t)
	if m := again.Calls.Mutating(); len(m) != 0 {
		t.Errorf("down of a removed environment made mutating calls: %v", m)
	}
}

func TestTwoEnvironmentsDoNotTouchEachOther(t *testing.T) {
	a, b, dir := newEnvName(t), newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, a)
	downAtCleanup(t, dir, b)
	tapctl(t, dir, "up", "--env", a).mustSucceed(t)
	tapctl(t, dir, "up", "--env", b).mustSucceed(t)
	na, nb := assertNetwork(t, a), assertNetwork(t, b)
	if aws.ToString(na.VPCs[0].VpcId) == aws.ToString(nb.VPCs[0].VpcId) {
		t.Fatal("both environments share one VPC")
	}
	tapctl(t, dir, "down", "--yes", "--env", a).mustSucceed(t)
	if n := readNetwork(t, a); n.count() != 0 {
		t.Errorf("%s left %d resources", a, n.count())
	}
	assertNetwork(t, b)
	second := tapctl(t, dir, "up", "--env", b).mustSucceed(t)
	if m := second.Calls.Mutating(); len(m) != 0 {
		t.Errorf("tearing down %s changed %s: up made %v", a, b, m)
	}
}
