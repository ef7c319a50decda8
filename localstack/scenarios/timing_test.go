package scenarios

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tapctl/tapctl/localstack"
)

// The timing model makes a new NAT gateway pending, as AWS does; up's waiters sit it out and
// the platform still comes up. (No timing is asserted: only what the model answers.)
func TestTimingModelMakesNewResourcesSlowAndUpWaitsForThem(t *testing.T) {
	// Read at once, on a model so slow (a NAT gateway pending for 2.5 hours) that no stall of the
	// test between the create and the describe can see it available.
	model, err := localstack.NewTimingProxy(localstack.BareEndpoint(t), localstack.Timing{Factor: 100})
	must(t, err)
	defer model.Close()
	// The model's own answers, without the strict layer's NAT gateway that fails once.
	model.Strict.Store(false)
	c := clientsAt(t, model.URL).EC2
	ctx := context.Background()
	vpc, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.9.0.0/16")})
	must(t, err)
	sn, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.9.0.0/24")})
	must(t, err)
	igw, err := c.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
	must(t, err)
	_, err = c.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGateway.InternetGatewayId, VpcId: vpc.Vpc.VpcId})
	must(t, err)
	eip, err := c.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
	must(t, err)
	nat, err := c.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: sn.Subnet.SubnetId, AllocationId: eip.AllocationId})
	must(t, err)
	if nat.NatGateway.State != ec2types.NatGatewayStatePending {
		t.Errorf("new NAT gateway is %s through the model, want pending", nat.NatGateway.State)
	}
	desc, err := c.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{aws.ToString(nat.NatGateway.NatGatewayId)}})
	must(t, err)
	if desc.NatGateways[0].State != ec2types.NatGatewayStatePending {
		t.Errorf("described NAT gateway is %s, want pending", desc.NatGateways[0].State)
	}

	// Waited out by up, on a model fast enough for a test.
	p, err := localstack.NewTimingProxy(localstack.BareEndpoint(t), localstack.Timing{Factor: 0.02})
	must(t, err)
	defer p.Close()
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	tapctlAt(t, p.URL, dir, nil, "up", "--env", env).mustSucceed(t)
	assertNetwork(t, env)
	for _, svc := range describeServices(t, env) {
		if svc.RunningCount != 2 {
			t.Errorf("%s runs %d tasks after up", aws.ToString(svc.ServiceName), svc.RunningCount)
		}
	}
}
