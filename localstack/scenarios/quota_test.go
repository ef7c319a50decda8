package scenarios

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/provision"
)

// quotaRegion is a region no other scenario makes resources in: what this test counts there
// is its own and the emulator's default VPC, whatever runs beside it in us-east-1.
const quotaRegion = "ap-southeast-2"

// The quotas the check uses in quotaRegion through a proxy with moto's own answers
// (Proxy.RaisedQuotas off): moto's Service Quotas answers "VPCs per Region" with AWS's default
// 5, and has no ec2 quotas (NoSuchResourceException), so for Elastic IPs tapctl falls back to
// AWS's default 5.
const (
	motoVPCQuota = 5
	defaultEIPs  = 5
)

// A new environment whose VPC, then whose Elastic IP, would go beyond the region's quota is
// refused before any change: exit 1, one line with the numbers, no mutating call; plan refuses
// the same way and its debug log says where each quota came from.
func TestUpRefusesAnEnvironmentBeyondTheRegionsQuota(t *testing.T) {
	ctx, p := context.Background(), startProxy(t)
	p.RaisedQuotas.Store(false)
	c := regionClients(t, p.URL, quotaRegion)
	env, dir := newEnvName(t), t.TempDir()
	run := func(args ...string) result {
		return tapctlAt(t, p.URL, dir, nil, append([]string{"--region", quotaRegion}, args...)...)
	}
	// Should the check let the environment through, what up made goes with the test.
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(dir, env+".json")); errors.Is(err, fs.ErrNotExist) {
			return
		}
		if r := run("down", "--yes", "--env", env); r.Code != 0 {
			t.Errorf("taking %s down: exit %d\n%s", env, r.Code, tail(r.Stderr, 5))
		}
	})

	// The region holds exactly as many VPCs as its quota.
	vpcs := countVPCs(t, c.EC2)
	var fillers []string
	for i := vpcs; i < motoVPCQuota; i++ {
		out, err := c.EC2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(fmt.Sprintf("10.%d.0.0/16", 200+i))})
		must(t, err)
		id := aws.ToString(out.Vpc.VpcId)
		fillers = append(fillers, id)
		t.Cleanup(func() {
			if _, err := c.EC2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(id)}); err != nil && !cloud.IsNotFound(err) {
				t.Errorf("deleting the filler VPC %s: %v", id, err)
			}
		})
	}
	vpcs = max(vpcs, motoVPCQuota)
	vpcLine := fmt.Sprintf("region %s holds %d of %d VPCs (quota %s); an isolated environment needs one more: delete one, raise the quota, or share a base environment's network with --base NAME",
		quotaRegion, vpcs, motoVPCQuota, provision.QuotaVPCs)
	assertQuotaRefusal(t, run("up", "--env", env), vpcLine)

	r := run("--verbose", "plan", "--env", env)
	assertQuotaRefusal(t, r, vpcLine)
	assertQuotaSource(t, r, provision.QuotaVPCs, "from Service Quotas", motoVPCQuota)
	assertQuotaSource(t, r, provision.QuotaElasticIPs, "AWS's default", defaultEIPs)

	// One VPC fewer, and the region's Elastic IPs at the default quota.
	if len(fillers) == 0 {
		t.Fatalf("the region held %d VPCs before the test; it needs room for one", vpcs)
	}
	_, err := c.EC2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(fillers[0])})
	must(t, err)
	eips := countEIPs(t, c.EC2)
	for i := eips; i < defaultEIPs; i++ {
		out, err := c.EC2.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
		must(t, err)
		id := aws.ToString(out.AllocationId)
		t.Cleanup(func() {
			if _, err := c.EC2.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: aws.String(id)}); err != nil && !cloud.IsNotFound(err) {
				t.Errorf("releasing the filler Elastic IP %s: %v", id, err)
			}
		})
	}
	eipLine := fmt.Sprintf("region %s holds %d of %d Elastic IPs (quota %s); an isolated environment needs one more: delete one, raise the quota, or share a base environment's network with --base NAME",
		quotaRegion, max(eips, defaultEIPs), defaultEIPs, provision.QuotaElasticIPs)
	assertQuotaRefusal(t, run("up", "--env", env), eipLine)
}

// assertQuotaRefusal: the run exited 1 before any change, with exactly one line naming the
// numbers, the refusal.
func assertQuotaRefusal(t *testing.T, r result, want string) {
	t.Helper()
	if r.Code != 1 {
		t.Errorf("exit %d, want 1\n%s", r.Code, r.Stderr)
	}
	if m := r.Calls.Mutating(); len(m) != 0 {
		t.Errorf("the refused run made mutating calls %v", m)
	}
	var naming []string
	for _, line := range strings.Split(r.Stdout+r.Stderr, "\n") {
		if strings.Contains(line, " of 5 ") || strings.Contains(line, "--base") {
			naming = append(naming, line)
		}
	}
	if len(naming) != 1 || naming[0] != "tapctl: "+want {
		t.Errorf("lines naming the quota = %q, want exactly %q", naming, "tapctl: "+want)
	}
}

// assertQuotaSource: the run's debug log says where the quota came from, and its value.
func assertQuotaSource(t *testing.T, r result, code, source string, value int) {
	t.Helper()
	for _, l := range logLines(t, r.Stderr) {
		if l["quota"] == code && strings.Contains(fmt.Sprint(l["message"]), source) {
			if v, _ := l["value"].(float64); int(v) != value {
				t.Errorf("quota %s = %v, want %d: %v", code, l["value"], value, l)
			}
			return
		}
	}
	t.Errorf("no debug line says quota %s came %s:\n%s", code, source, r.Stderr)
}

// regionClients reads and changes AWS in region, through endpoint.
func regionClients(t *testing.T, endpoint, region string) *cloud.Clients {
	t.Helper()
	cfg, err := cloud.Load(context.Background(), cloud.Options{Region: region, Endpoint: endpoint})
	must(t, err)
	return cloud.NewClients(cfg)
}

func countVPCs(t *testing.T, c *ec2.Client) int {
	t.Helper()
	n := 0
	pages := ec2.NewDescribeVpcsPaginator(c, &ec2.DescribeVpcsInput{})
	for pages.HasMorePages() {
		out, err := pages.NextPage(context.Background())
		must(t, err)
		n += len(out.Vpcs)
	}
	return n
}

func countEIPs(t *testing.T, c *ec2.Client) int {
	t.Helper()
	out, err := c.DescribeAddresses(context.Background(), &ec2.DescribeAddressesInput{
		Filters: []ec2types.Filter{{Name: aws.String("domain"), Values: []string{"vpc"}}},
	})
	must(t, err)
	return len(out.Addresses)
}
