package scenarios

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/localstack"
)

// The timing model makes a new NAT gateway pending and a deleted one deleting, and keeps a
// deleted load balancer's subnets in use, as AWS does; up's and down's waits sit it out, the
// platform comes up and goes away. (No timing is asserted: only what the model answers.)
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

	// Down's side: a deleted NAT gateway is "deleting" a while, and a deleted load balancer's
	// network interfaces still hold its subnets.
	_, err = c.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: nat.NatGateway.NatGatewayId})
	must(t, err)
	desc, err = c.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{aws.ToString(nat.NatGateway.NatGatewayId)}})
	must(t, err)
	if desc.NatGateways[0].State != ec2types.NatGatewayStateDeleting {
		t.Errorf("NAT gateway just deleted is %s, want deleting", desc.NatGateways[0].State)
	}
	a, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.9.1.0/24"), AvailabilityZone: aws.String("us-east-1a")})
	must(t, err)
	b, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.9.2.0/24"), AvailabilityZone: aws.String("us-east-1b")})
	must(t, err)
	elb := clientsAt(t, model.URL).ELB
	lb, err := elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("timing-" + newEnvName(t)), Subnets: []string{aws.ToString(a.Subnet.SubnetId), aws.ToString(b.Subnet.SubnetId)}})
	must(t, err)
	_, err = elb.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn})
	must(t, err)
	_, err = c.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: b.Subnet.SubnetId})
	if !cloud.HasCode(err, "DependencyViolation") {
		t.Errorf("deleting a subnet right after its load balancer: %v, want DependencyViolation (its interfaces linger)", err)
	}
	arn := aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)
	enis, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{
		{Name: aws.String("description"), Values: []string{"ELB " + arn[strings.Index(arn, ":loadbalancer/")+len(":loadbalancer/"):]}}}})
	must(t, err)
	if len(enis.NetworkInterfaces) != 2 {
		t.Errorf("the deleted load balancer shows %d lingering network interfaces, want one per subnet (2)", len(enis.NetworkInterfaces))
	}

	// Waited out by up and by down, on a model fast enough for a test.
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
	// Services draining, NAT gateways deleting and interfaces lingering: down waits them out.
	tapctlAt(t, p.URL, dir, nil, "down", "--yes", "--env", env).mustSucceed(t)
	assertCreatedAreGone(t, p.Journal())
}
