package provision

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// VPCCIDR is the address range of every environment's VPC (SPEC row 1).
const VPCCIDR = "10.0.0.0/16"

type vpcStep struct{}

func (vpcStep) Name() string        { return keyVPC }
func (vpcStep) DependsOn() []string { return nil }

// findVPC looks the VPC up by the state file's ID, then by its tags, once per run. nil means
// none exists.
func findVPC(ctx context.Context, e *Env) (*ec2types.Vpc, error) {
	if e.base != nil { // an overlay's is its base's
		return findVPC(ctx, e.base)
	}
	return findEC2(e, ec2Find[ec2types.Vpc]{
		kind: "VPC", name: e.Names.VPC(), stateKey: keyVPC,
		describe: func(ids []string, filters []ec2types.Filter) ([]ec2types.Vpc, error) {
			out, err := e.AWS.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: ids, Filters: filters})
			return listed(out, err, func(o *ec2.DescribeVpcsOutput) []ec2types.Vpc { return o.Vpcs })
		},
		tags: func(v *ec2types.Vpc) []ec2types.Tag { return v.Tags },
		id:   func(v *ec2types.Vpc) string { return aws.ToString(v.VpcId) },
	})
}

func (vpcStep) Claim(ctx context.Context, e *Env) error {
	_, err := findVPC(ctx, e)
	return err
}

// VPCID is the environment's VPC, as later steps need it. It fails when the VPC step has not run.
func (e *Env) VPCID() (string, error) { return e.recordedID(keyVPC, "the VPC") }

func (vpcStep) Up(ctx context.Context, e *Env) error {
	vpc, err := findVPC(ctx, e)
	if err != nil {
		return err
	}
	created := false
	if vpc == nil {
		out, err := e.AWS.EC2.CreateVpc(ctx, &ec2.CreateVpcInput{
			CidrBlock:         aws.String(VPCCIDR),
			TagSpecifications: e.ec2TagSpec(ec2types.ResourceTypeVpc, e.Names.VPC()),
		})
		if err != nil {
			return fmt.Errorf("creating VPC %s: %w", e.Names.VPC(), err)
		}
		vpc = out.Vpc
		if err := e.recordCreated(keyVPC, "VPC "+e.Names.VPC(), state.Resource{ID: aws.ToString(vpc.VpcId)}); err != nil {
			return err
		}
		created = true
	} else {
		if err := e.Record(keyVPC, state.Resource{ID: aws.ToString(vpc.VpcId)}); err != nil {
			return err
		}
		if err := vpcCIDRError(vpc); err != nil {
			return err
		}
		if err := e.ensureEC2Tags(ctx, "VPC "+e.Names.VPC(), aws.ToString(vpc.VpcId), vpc.Tags, e.Names.VPC()); err != nil {
			return err
		}
	}
	id := aws.ToString(vpc.VpcId)
	changed, err := ensureVPCDNS(ctx, e, id, created)
	if err != nil {
		return err
	}
	if !created && !changed {
		e.Unchanged("VPC "+e.Names.VPC(), id)
	}
	return nil
}

// vpcDNSAttributes are the VPC attributes the platform turns on: ECS tasks and Cloud Map need
// the VPC's DNS.
var vpcDNSAttributes = []ec2types.VpcAttributeName{ec2types.VpcAttributeNameEnableDnsSupport, ec2types.VpcAttributeNameEnableDnsHostnames}

// dnsAttributeOn reads one DNS attribute out of DescribeVpcAttribute's answer; unset is off.
func dnsAttributeOn(out *ec2.DescribeVpcAttributeOutput, attr ec2types.VpcAttributeName) bool {
	on := out.EnableDnsSupport
	if attr == ec2types.VpcAttributeNameEnableDnsHostnames {
		on = out.EnableDnsHostnames
	}
	return on != nil && aws.ToBool(on.Value)
}

// enableDNSInput is the ModifyVpcAttribute call that turns one DNS attribute on (the call takes
// one attribute at a time).
func enableDNSInput(id string, attr ec2types.VpcAttributeName) *ec2.ModifyVpcAttributeInput {
	in := &ec2.ModifyVpcAttributeInput{VpcId: aws.String(id)}
	if attr == ec2types.VpcAttributeNameEnableDnsSupport {
		in.EnableDnsSupport = &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}
	} else {
		in.EnableDnsHostnames = &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}
	}
	return in
}

// vpcCIDRError refuses a VPC whose CIDR is not the platform's: a VPC's CIDR cannot change.
func vpcCIDRError(vpc *ec2types.Vpc) error {
	if got := aws.ToString(vpc.CidrBlock); got != VPCCIDR {
		return fmt.Errorf("VPC %s has CIDR %s, not %s; a VPC's CIDR cannot change: delete it or choose another --env", aws.ToString(vpc.VpcId), got, VPCCIDR)
	}
	return nil
}

// ensureVPCDNS turns DNS support and DNS hostnames on. A fresh VPC has hostnames off, so it is
// set without reading; an existing one is read first so a converged run makes no change.
func ensureVPCDNS(ctx context.Context, e *Env, id string, fresh bool) (bool, error) {
	changed := false
	for _, attr := range vpcDNSAttributes {
		if !fresh {
			out, err := e.AWS.EC2.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: aws.String(id), Attribute: attr})
			if err != nil {
				return changed, fmt.Errorf("reading %s of VPC %s: %w", attr, id, err)
			}
			if dnsAttributeOn(out, attr) {
				continue
			}
		}
		// A VPC just created may not be visible to every EC2 endpoint yet.
		err := cloud.Retry(ctx, "enabling "+string(attr)+" on VPC "+id, 2*time.Minute, cloud.RetryOn(cloud.PropagationCodes...), func(ctx context.Context) error {
			_, err := e.AWS.EC2.ModifyVpcAttribute(ctx, enableDNSInput(id, attr))
			return err
		})
		if err != nil {
			return changed, fmt.Errorf("enabling %s on VPC %s: %w", attr, id, err)
		}
		if !fresh {
			e.Updated("VPC "+e.Names.VPC(), id, string(attr)+"=true")
		}
		changed = true
	}
	return changed, nil
}

func (vpcStep) Down(ctx context.Context, e *Env) error {
	vpc, err := findVPC(ctx, e)
	return removeFound(e, keyVPC, "VPC "+e.Names.VPC(), vpc, err, func(v *ec2types.Vpc) string { return aws.ToString(v.VpcId) }, func(id string) error {
		return deleteWhenFree(ctx, e, "VPC", id, func(ctx context.Context) error {
			_, err := e.AWS.EC2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(id)})
			return err
		})
	})
}

func (vpcStep) Inspect(ctx context.Context, e *Env) []Status {
	st := Status{Resource: "VPC " + e.Names.VPC(), StateID: e.StateID(keyVPC)}
	vpc, err := findVPC(ctx, e)
	st.AWS = engine.Observe(err, vpc != nil, func() string { return string(vpc.State) })
	return []Status{st}
}
