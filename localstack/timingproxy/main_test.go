package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/localstack"
)

func TestMain(m *testing.M) { os.Exit(localstack.Main(m)) }

// The command serves the model to a client that is not tapctl: a plain SDK client sees a new NAT
// gateway pending through it (at factor 100 it stays pending for hours, so no stall of the test
// can see it available), and available straight from the emulator.
func TestTimingProxyServesTheModelToAnyClient(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "timingproxy")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	emulator := localstack.BareEndpoint(t)
	cmd := exec.Command(bin, "-upstream", emulator, "-factor", "100", "-latency", "0s")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	first, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("timingproxy said nothing: %v", err)
	}
	// "timingproxy: http://127.0.0.1:PORT -> UPSTREAM, factor 100, latency 0s"
	url := strings.Fields(first)[1]

	ctx := context.Background()
	through, direct := ec2At(t, url), ec2At(t, emulator)
	vpc, err := through.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.8.0.0/16")})
	must(t, err)
	sn, err := through.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.8.0.0/24")})
	must(t, err)
	eip, err := through.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
	must(t, err)
	nat, err := through.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: sn.Subnet.SubnetId, AllocationId: eip.AllocationId})
	must(t, err)
	in := &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{aws.ToString(nat.NatGateway.NatGatewayId)}}
	seen, err := through.DescribeNatGateways(ctx, in)
	must(t, err)
	if got := seen.NatGateways[0].State; got != ec2types.NatGatewayStatePending {
		t.Errorf("through the timing proxy the new NAT gateway is %s, want pending", got)
	}
	seen, err = direct.DescribeNatGateways(ctx, in)
	must(t, err)
	if got := seen.NatGateways[0].State; got != ec2types.NatGatewayStateAvailable {
		t.Errorf("the emulator itself says %s; the test expects moto's instant available", got)
	}
	for _, del := range []func() error{
		func() error {
			_, err := direct.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: nat.NatGateway.NatGatewayId})
			return err
		},
		func() error {
			_, err := direct.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: eip.AllocationId})
			return err
		},
		func() error {
			_, err := direct.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: sn.Subnet.SubnetId})
			return err
		},
		func() error { _, err := direct.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: vpc.Vpc.VpcId}); return err },
	} {
		must(t, del())
	}
}

func ec2At(t *testing.T, endpoint string) *ec2.Client {
	cfg, err := cloud.Load(context.Background(), cloud.Options{Region: "us-east-1", Endpoint: endpoint})
	must(t, err)
	return ec2.NewFromConfig(cfg)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
