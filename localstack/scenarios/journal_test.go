package scenarios

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/localstack"
)

// The proxy's journal (killpoint.go) holds every mutating call the emulator carried out for a
// test, answers included. From it the tests learn what tapctl created, whether or not tapctl
// lived to record it, and check each of those resources in AWS: that catches what a look-up by
// tags cannot, such as an untagged copy. Only the kinds AWS lets exist twice are tracked here;
// everything else has a name AWS keeps unique, and the inventory checks it by name.

// createdKind is one kind of resource tapctl creates, found in the answer of its create call.
type createdKind struct {
	name      string
	operation string
	id        *regexp.Regexp
	// live reports whether the resource exists (and is not on its way out) and its tags.
	live func(t *testing.T, c *cloud.Clients, id string) (bool, map[string]string)
	// want is how many of this kind a converged environment holds.
	want int
}

var createdKinds = []createdKind{
	{"VPC", "CreateVpc", regexp.MustCompile(`<vpcId>(vpc-[0-9a-f]+)</vpcId>`), liveVPC, 1},
	{"subnet", "CreateSubnet", regexp.MustCompile(`<subnetId>(subnet-[0-9a-f]+)</subnetId>`), liveSubnet, 6},
	{"internet gateway", "CreateInternetGateway", regexp.MustCompile(`<internetGatewayId>(igw-[0-9a-f]+)</internetGatewayId>`), liveIGW, 1},
	{"Elastic IP", "AllocateAddress", regexp.MustCompile(`<allocationId>(eipalloc-[0-9a-f]+)</allocationId>`), liveEIP, 1},
	{"NAT gateway", "CreateNatGateway", regexp.MustCompile(`<natGatewayId>(nat-[0-9a-f]+)</natGatewayId>`), liveNAT, 1},
	{"route table", "CreateRouteTable", regexp.MustCompile(`<routeTableId>(rtb-[0-9a-f]+)</routeTableId>`), liveRouteTable, 4},
	{"VPC endpoint", "CreateVpcEndpoint", regexp.MustCompile(`<vpcEndpointId>(vpce-[0-9a-f]+)</vpcEndpointId>`), liveEndpoint, 2},
	{"security group", "CreateSecurityGroup", regexp.MustCompile(`<groupId>(sg-[0-9a-f]+)</groupId>`), liveSG, 2},
	{"KMS key", "CreateKey", regexp.MustCompile(`"KeyId":\s*"([0-9a-f-]+)"`), liveKey, 1},
	{"load balancer", "CreateLoadBalancer", regexp.MustCompile(`<LoadBalancerArn>([^<]+)</LoadBalancerArn>`), liveLB, 1},
	{"Cloud Map service", "CreateService", regexp.MustCompile(`"Id":\s*"(srv-[0-9a-z]+)"`), liveDiscoveryService, 3},
}

// created lists, per kind, the IDs the journal's create answers name.
func created(journal []localstack.Carried) map[string][]string {
	out := map[string][]string{}
	for _, call := range journal {
		for _, k := range createdKinds {
			if call.Operation != k.operation {
				continue
			}
			if m := k.id.FindSubmatch(call.Answer); m != nil {
				out[k.name] = append(out[k.name], string(m[1]))
			}
		}
	}
	return out
}

// assertCreatedAreTheInventory checks, after an up, that of everything the journal shows
// created, exactly one converged environment's worth still lives, all of it tagged with env.
func assertCreatedAreTheInventory(t *testing.T, journal []localstack.Carried, env string) {
	t.Helper()
	assertCreatedAreTheInventoryOf(t, journal, env, func(k createdKind) int { return k.want })
}

// overlayWants is how many of each created kind a converged overlay environment holds: its
// task security group, its log key and its Cloud Map services; the network and the load
// balancer are its base's.
func overlayWants(k createdKind) int {
	switch k.name {
	case "security group", "KMS key":
		return 1
	case "Cloud Map service":
		return k.want
	}
	return 0
}

// assertCreatedAreTheInventoryOf is assertCreatedAreTheInventory with want saying how many of
// each kind the environment holds.
func assertCreatedAreTheInventoryOf(t *testing.T, journal []localstack.Carried, env string, want func(createdKind) int) {
	t.Helper()
	c, ids := clients(t), created(journal)
	for _, k := range createdKinds {
		var live []string
		for _, id := range ids[k.name] {
			ok, tags := k.live(t, c, id)
			if !ok {
				continue
			}
			live = append(live, id)
			if tags["Environment"] != env || tags["ManagedBy"] != "tapctl" {
				t.Errorf("%s %s that tapctl created is not tagged with the environment: %v", k.name, id, tags)
			}
		}
		if len(live) != want(k) {
			t.Errorf("%d %ss created and alive %v (of %d created), want %d", len(live), k.name, live, len(ids[k.name]), want(k))
		}
	}
}

// assertCreatedAreGone checks, after a down, that nothing the journal shows created lives on
// (a KMS key pending deletion does not count: keys cannot be deleted sooner).
func assertCreatedAreGone(t *testing.T, journal []localstack.Carried) {
	t.Helper()
	c, ids := clients(t), created(journal)
	var left []string
	for _, k := range createdKinds {
		for _, id := range ids[k.name] {
			if ok, _ := k.live(t, c, id); ok {
				left = append(left, k.name+" "+id)
			}
		}
	}
	sort.Strings(left)
	if len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// gone says whether a describe failed because the resource does not exist.
func gone(t *testing.T, what string, err error) bool {
	t.Helper()
	if err == nil {
		return false
	}
	if cloud.IsNotFound(err) || strings.Contains(err.Error(), "NotFound") {
		return true
	}
	t.Fatalf("describing %s: %v", what, err)
	return false
}

var ctxBG = context.Background()

func liveVPC(t *testing.T, c *cloud.Clients, id string) (bool, map[string]string) {
	out, err := c.EC2.DescribeVpcs(ctxBG, &ec2.DescribeVpcsInput{VpcIds: []string{id}})
	if gone(t, id, err) || len(out.Vpcs) == 0 {
		return false, nil
	}
	return true, ec2Tags(out.Vpcs[0].Tags)
}

func liveSubnet(t *testing.T, c *cloud.Clients, id string) (bool, map[string]string) {
	out, err := c.EC2.DescribeSubnets(ctxBG, &ec2.DescribeSubnetsInput{SubnetIds: []string{id}})
	if gone(t, id, err) || len(out.Subnets) == 0 {
		return false, nil
	}
	return true, ec2Tags(out.Subnets[0].Tags)
}

func liveIGW(t *testing.T, c *cloud.Clients, id string) (bool, map[string]string) {
	out, err := c.EC2.DescribeInternetGateways(ctxBG, &ec2.DescribeInternetGatewaysInput{InternetGatewayIds: []string{id}})
	if gone(t, id, err) || len(out.InternetGateways) == 0 {
		return false, nil
	}
	return true, ec2Tags(out.InternetGateways[0].Tags)
}

func liveEIP(t *testing.T, c *cloud.Clients, id string) (bool, map[string]string) {
	out, err := c.EC2.DescribeAddresses(ctxBG, &ec2.DescribeAddressesInput{AllocationIds: []string{id}})
	if gone(t, id, err) || len(out.Addresses) == 0 {
		return false, nil
	}
	return true, ec2Tags(out.Addresses[0].Tags)
}

func liveNAT(t *testing.T, c *cloud.Clients, id string) (bool, map[string]string) {
	out, err := c.EC2.DescribeNatGateways(ctxBG, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{id}})
	if gone(t, id, err) || len(out.NatGateways) == 0 {
		return false, nil
	}
	nat := out.NatGateways[0]
	if nat.State == ec2types.NatGatewayStateDeleted || nat.State == ec2types.NatGatewayStateDeleting || nat.State == ec2types.NatGatewayStateFailed {
		return false, nil
	}
	return true, ec2Tags(nat.Tags)
}

func liveEndpoint(t *testing.T, c *cloud.Clients, id string) (bool, map[string]string) {
	out, err := c.EC2.DescribeVpcEndpoints(ctxBG, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{id}})
	if gone(t, id, err) || len(out.VpcEndpoints) == 0 {
		return false, nil
	}
	v := out.VpcEndpoints[0]
	if st := strings.ToLower(string(v.State)); st == "deleted" || st == "deleting" {
		return false, nil
	}
	return true, ec2Tags(v.Tags)
}

func liveRouteTable(t *testing.T, c *cloud.Clients, id string) (bool, map[string]string) {
	out, err := c.EC2.DescribeRouteTables(ctxBG, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{id}})
	if gone(t, id, err) || len(out.RouteTables) == 0 {
		return false, nil
	}
	return true, ec2Tags(out.RouteTables[0].Tags)
}

func liveSG(t *testing.T, c *cloud.Clients, id string) (bool, map[string]string) {
	out, err := c.EC2.DescribeSecurityGroups(ctxBG, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if gone(t, id, err) || len(out.SecurityGroups) == 0 {
		return false, nil
	}
	return true, ec2Tags(out.SecurityGroups[0].Tags)
}

func liveKey(t *testing.T, c *cloud.Clients, id string) (bool, map[string]string) {
	out, err := c.KMS.DescribeKey(ctxBG, &kms.DescribeKeyInput{KeyId: aws.String(id)})
	if gone(t, id, err) || out.KeyMetadata.KeyState == kmstypes.KeyStatePendingDeletion {
		return false, nil
	}
	tags, err := c.KMS.ListResourceTags(ctxBG, &kms.ListResourceTagsInput{KeyId: aws.String(id)})
	must(t, err)
	return true, tagMap(tags.Tags, func(t kmstypes.Tag) (*string, *string) { return t.TagKey, t.TagValue })
}

func liveLB(t *testing.T, c *cloud.Clients, arn string) (bool, map[string]string) {
	out, err := c.ELB.DescribeLoadBalancers(ctxBG, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
	if gone(t, arn, err) || len(out.LoadBalancers) == 0 {
		return false, nil
	}
	tags, err := c.ELB.DescribeTags(ctxBG, &elbv2.DescribeTagsInput{ResourceArns: []string{arn}})
	must(t, err)
	m := map[string]string{}
	for _, d := range tags.TagDescriptions {
		for _, tag := range d.Tags {
			m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
	}
	return true, m
}

func liveDiscoveryService(t *testing.T, c *cloud.Clients, id string) (bool, map[string]string) {
	out, err := c.ServiceDisc.GetService(ctxBG, &sd.GetServiceInput{Id: aws.String(id)})
	if gone(t, id, err) {
		return false, nil
	}
	tags, err := c.ServiceDisc.ListTagsForResource(ctxBG, &sd.ListTagsForResourceInput{ResourceARN: out.Service.Arn})
	must(t, err)
	m := map[string]string{}
	for _, tag := range tags.Tags {
		m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return true, m
}
