package provision

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/state"
)

// AZCount is how many availability zones the platform spans (SPEC row 2).
const AZCount = 3

// Subnet kinds.
const (
	Public  = "public"
	Private = "private"
)

// subnetSpec is one of the six subnets: public ones take 10.0.0-2.0/24, private 10.0.3-5.0/24,
// the order in which CDK allocates them for the source design.
type subnetSpec struct {
	kind string
	az   int
}

func (s subnetSpec) key() string { return subnetKey(s.kind, s.az) }
func (s subnetSpec) cidr() string {
	third := s.az
	if s.kind == Private {
		third += AZCount
	}
	return fmt.Sprintf("10.0.%d.0/24", third)
}

func allSubnets() []subnetSpec {
	var out []subnetSpec
	for _, kind := range []string{Public, Private} {
		for az := 0; az < AZCount; az++ {
			out = append(out, subnetSpec{kind, az})
		}
	}
	return out
}

// SubnetIDs lists the recorded subnets of one kind, in AZ order.
func (e *Env) SubnetIDs(kind string) ([]string, error) {
	var ids []string
	for az := 0; az < AZCount; az++ {
		id, err := e.recordedID(subnetSpec{kind, az}.key(), "the "+kind+" subnets")
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

type subnetsStep struct{}

func (subnetsStep) Name() string        { return "subnets" }
func (subnetsStep) DependsOn() []string { return []string{keyVPC} }

// findSubnets reads every subnet of the VPC in one call (once per run) and matches each spec
// (matchSubnets).
func findSubnets(ctx context.Context, e *Env, vpcID string) (map[subnetSpec]*ec2types.Subnet, error) {
	return ownedInVPC(e, "subnets", "subnets", vpcID, func() ([]ec2types.Subnet, error) {
		out, err := e.AWS.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: inVPC(vpcID)})
		return listed(out, err, func(o *ec2.DescribeSubnetsOutput) []ec2types.Subnet { return o.Subnets })
	}, matchSubnets)
}

// matchSubnets picks each spec's subnet out of the VPC's: by state ID, then Name tag, then CIDR
// (a CIDR can be held by one subnet of a VPC only); each match must be the environment's.
func matchSubnets(e *Env, subnets []ec2types.Subnet) (map[subnetSpec]*ec2types.Subnet, error) {
	tags := func(sn *ec2types.Subnet) []ec2types.Tag { return sn.Tags }
	return findEachAmong(e, subnets, allSubnets(), func(spec subnetSpec) ec2Among[ec2types.Subnet] {
		name, cidr := e.Names.Subnet(spec.kind, spec.az), spec.cidr()
		return ec2Among[ec2types.Subnet]{
			kind: "subnet", label: name + " (" + cidr + ")", stateKey: spec.key(),
			named: []func(*ec2types.Subnet) bool{
				nameTagIs(name, tags),
				func(sn *ec2types.Subnet) bool { return aws.ToString(sn.CidrBlock) == cidr },
			},
			tags: tags, id: func(sn *ec2types.Subnet) string { return aws.ToString(sn.SubnetId) },
		}
	})
}

func (subnetsStep) Claim(ctx context.Context, e *Env) error {
	vpc, err := findVPC(ctx, e)
	if err != nil || vpc == nil {
		return err
	}
	_, err = findSubnets(ctx, e, aws.ToString(vpc.VpcId))
	return err
}

// availabilityZones picks the first three available zones (by name), as CDK's max_azs=3 does.
func availabilityZones(ctx context.Context, e *Env) ([]string, error) {
	out, err := e.AWS.EC2.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{
		Filters: []ec2types.Filter{
			{Name: aws.String("state"), Values: []string{"available"}},
			{Name: aws.String("zone-type"), Values: []string{"availability-zone"}},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("listing availability zones of %s: %w", e.Region, err)
	}
	var zones []string
	for _, z := range out.AvailabilityZones {
		zones = append(zones, aws.ToString(z.ZoneName))
	}
	sort.Strings(zones)
	if len(zones) < AZCount {
		return nil, fmt.Errorf("region %s has %d available zones; the platform needs %d", e.Region, len(zones), AZCount)
	}
	return zones[:AZCount], nil
}

func (subnetsStep) Up(ctx context.Context, e *Env) error {
	vpcID, err := e.VPCID()
	if err != nil {
		return err
	}
	found, err := findSubnets(ctx, e, vpcID)
	if err != nil {
		return err
	}
	var zones []string
	for _, spec := range allSubnets() {
		name := e.Names.Subnet(spec.kind, spec.az)
		sn := found[spec]
		if sn == nil {
			if zones == nil {
				if zones, err = availabilityZones(ctx, e); err != nil {
					return err
				}
			}
			out, err := e.AWS.EC2.CreateSubnet(ctx, &ec2.CreateSubnetInput{
				VpcId:             aws.String(vpcID),
				CidrBlock:         aws.String(spec.cidr()),
				AvailabilityZone:  aws.String(zones[spec.az]),
				TagSpecifications: e.ec2TagSpec(ec2types.ResourceTypeSubnet, name),
			})
			if err != nil {
				return fmt.Errorf("creating subnet %s (%s in %s): %w", name, spec.cidr(), zones[spec.az], err)
			}
			sn = out.Subnet
			if err := e.recordCreated(spec.key(), "subnet "+name, subnetRecord(sn)); err != nil {
				return err
			}
		} else if err := e.adoptEC2(ctx, spec.key(), "subnet "+name, subnetRecord(sn), sn.Tags, name); err != nil {
			return err
		}
		if err := ensureMapPublicIP(ctx, e, name, sn, spec.kind == Public); err != nil {
			return err
		}
	}
	return nil
}

func subnetRecord(sn *ec2types.Subnet) state.Resource {
	return state.Resource{ID: aws.ToString(sn.SubnetId), Attrs: map[string]string{"az": aws.ToString(sn.AvailabilityZone), "cidr": aws.ToString(sn.CidrBlock)}}
}

// mapPublicIPDrifts says whether the subnet's "map public IP on launch" differs from what its
// kind wants: on for public subnets, off for private ones (unset reads as off).
func mapPublicIPDrifts(sn *ec2types.Subnet, public bool) bool {
	return aws.ToBool(sn.MapPublicIpOnLaunch) != public
}

// ensureMapPublicIP sets "map public IP on launch" on public subnets and clears it on private ones.
func ensureMapPublicIP(ctx context.Context, e *Env, name string, sn *ec2types.Subnet, want bool) error {
	id := aws.ToString(sn.SubnetId)
	if !mapPublicIPDrifts(sn, want) {
		return nil
	}
	err := cloud.Retry(ctx, "setting map-public-ip on subnet "+id, 2*time.Minute, cloud.RetryOn(cloud.PropagationCodes...), func(ctx context.Context) error {
		_, err := e.AWS.EC2.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{
			SubnetId: aws.String(id), MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: aws.Bool(want)},
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("setting map-public-ip-on-launch=%t on subnet %s: %w", want, id, err)
	}
	e.Updated("subnet "+name, id, fmt.Sprintf("mapPublicIpOnLaunch=%t", want))
	return nil
}

// subnetGroup is the six subnets, for Down and Inspect.
func subnetGroup(ctx context.Context, e *Env) vpcGroup[subnetSpec, ec2types.Subnet] {
	return vpcGroup[subnetSpec, ec2types.Subnet]{
		keys:     allSubnets(),
		find:     func(vpcID string) (map[subnetSpec]*ec2types.Subnet, error) { return findSubnets(ctx, e, vpcID) },
		stateKey: subnetSpec.key,
		label:    func(spec subnetSpec) string { return "subnet " + e.Names.Subnet(spec.kind, spec.az) },
		id:       func(sn *ec2types.Subnet) string { return aws.ToString(sn.SubnetId) },
	}
}

func (subnetsStep) Down(ctx context.Context, e *Env) error {
	return subnetGroup(ctx, e).removeEach(ctx, e, allSubnets(), func(_ *ec2types.Subnet, id string) error {
		return deleteWhenFree(ctx, e, "subnet", id, func(ctx context.Context) error {
			_, err := e.AWS.EC2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(id)})
			return err
		})
	})
}

func (subnetsStep) Inspect(ctx context.Context, e *Env) []Status {
	return subnetGroup(ctx, e).inspectEach(e, func(sn *ec2types.Subnet) string { return string(sn.State) + " " + aws.ToString(sn.CidrBlock) })
}
