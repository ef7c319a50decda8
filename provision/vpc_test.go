package provision

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// DescribeVpcAttribute answers one attribute at a time; the one asked is read, unset is off.
func TestDNSAttributeOn(t *testing.T) {
	on := &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}
	off := &ec2types.AttributeBooleanValue{Value: aws.Bool(false)}
	support, hostnames := ec2types.VpcAttributeNameEnableDnsSupport, ec2types.VpcAttributeNameEnableDnsHostnames
	cases := []struct {
		name string
		out  ec2.DescribeVpcAttributeOutput
		attr ec2types.VpcAttributeName
		want bool
	}{
		{"support on", ec2.DescribeVpcAttributeOutput{EnableDnsSupport: on}, support, true},
		{"support off", ec2.DescribeVpcAttributeOutput{EnableDnsSupport: off}, support, false},
		{"hostnames off, as a new VPC has them", ec2.DescribeVpcAttributeOutput{EnableDnsHostnames: off}, hostnames, false},
		{"hostnames on", ec2.DescribeVpcAttributeOutput{EnableDnsHostnames: on}, hostnames, true},
		{"hostnames asked, support answered", ec2.DescribeVpcAttributeOutput{EnableDnsSupport: on}, hostnames, false},
		{"no value", ec2.DescribeVpcAttributeOutput{EnableDnsSupport: &ec2types.AttributeBooleanValue{}}, support, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := dnsAttributeOn(&c.out, c.attr); got != c.want {
				t.Errorf("dnsAttributeOn = %t, want %t", got, c.want)
			}
		})
	}
}

// ModifyVpcAttribute takes one attribute per call: each input sets exactly the one asked.
func TestEnableDNSInputSetsOneAttribute(t *testing.T) {
	in := enableDNSInput("vpc-1", ec2types.VpcAttributeNameEnableDnsHostnames)
	if in.EnableDnsSupport != nil || !aws.ToBool(in.EnableDnsHostnames.Value) || aws.ToString(in.VpcId) != "vpc-1" {
		t.Errorf("hostnames input = %+v", in)
	}
	in = enableDNSInput("vpc-1", ec2types.VpcAttributeNameEnableDnsSupport)
	if in.EnableDnsHostnames != nil || !aws.ToBool(in.EnableDnsSupport.Value) {
		t.Errorf("support input = %+v", in)
	}
}

// A VPC of another CIDR is refused: the CIDR cannot change.
func TestVPCCIDR(t *testing.T) {
	if err := vpcCIDRError(&ec2types.Vpc{VpcId: aws.String("vpc-1"), CidrBlock: aws.String(VPCCIDR)}); err != nil {
		t.Errorf("the platform's CIDR refused: %v", err)
	}
	err := vpcCIDRError(&ec2types.Vpc{VpcId: aws.String("vpc-1"), CidrBlock: aws.String("10.1.0.0/16")})
	if want := "VPC vpc-1 has CIDR 10.1.0.0/16, not 10.0.0.0/16; a VPC's CIDR cannot change: delete it or choose another --env"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}
