package provision

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// vpcEndpointStep owns the VPC endpoint of one AWS service (network: in tapctl.yaml). A gateway
// endpoint (s3, dynamodb) is attached to every private route table: AWS adds a route to the
// service's prefix list to each, so that traffic skips the NAT gateway. An interface endpoint
// (ecr.api, ecr.dkr, logs) has a network interface in each private subnet, the endpoints'
// security group, and private DNS, so the tasks' usual AWS host names resolve to it; private
// DNS needs the VPC's DNS support and DNS hostnames, which the VPC has (SPEC row 1).
//
// An endpoint the network no longer wants is deleted by its retiredEndpointStep, in the same
// place of the run; Down deletes whichever exists and waits until AWS has removed it and its
// network interfaces, so that the subnets and the security group can go after it.
type vpcEndpointStep struct{ kind string }

func (s vpcEndpointStep) Name() string { return vpcEndpointKey(s.kind) }
func (s vpcEndpointStep) DependsOn() []string {
	if s.gateway() {
		return []string{"route-tables"}
	}
	return []string{"subnets", keyEndpointSecurityGroup}
}

func (s vpcEndpointStep) gateway() bool { return slices.Contains(catalog.GatewayKinds, s.kind) }

func (s vpcEndpointStep) label(e *Env) string {
	return "VPC endpoint " + e.Names.VPCEndpoint(s.kind)
}

// serviceName is the endpoint service of the region, e.g. com.amazonaws.us-east-1.s3.
func (s vpcEndpointStep) serviceName(e *Env) string {
	return "com.amazonaws." + e.Region + "." + s.kind
}

// liveEndpoint is an endpoint that is, or is becoming, usable: a deleted, deleting, failed,
// rejected or expired one is history.
func liveEndpoint(v *ec2types.VpcEndpoint) bool {
	switch strings.ToLower(string(v.State)) {
	case "deleted", "deleting", "failed", "rejected", "expired":
		return false
	}
	return true
}

func (s vpcEndpointStep) find(ctx context.Context, e *Env) (*ec2types.VpcEndpoint, error) {
	all, err := vpcEndpoints(ctx, e)
	return all[s.kind], err
}

// vpcEndpoints reads the live endpoints of the environment's VPC in one call, once per run, and
// picks the environment's out of them, by kind: by the state file's ID, then by Name tag; each
// must be the environment's. No VPC, no endpoint.
func vpcEndpoints(ctx context.Context, e *Env) (map[string]*ec2types.VpcEndpoint, error) {
	vpc, err := findVPC(ctx, e)
	if err != nil || vpc == nil {
		return nil, err
	}
	vpcID := aws.ToString(vpc.VpcId)
	return ownedInVPC(e, "vpc-endpoints", "VPC endpoints", vpcID, func() ([]ec2types.VpcEndpoint, error) {
		var live []ec2types.VpcEndpoint
		p := ec2.NewDescribeVpcEndpointsPaginator(e.AWS.EC2, &ec2.DescribeVpcEndpointsInput{Filters: inVPC(vpcID)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, v := range page.VpcEndpoints {
				if liveEndpoint(&v) && aws.ToString(v.VpcId) == vpcID {
					live = append(live, v)
				}
			}
		}
		return live, nil
	}, func(e *Env, items []ec2types.VpcEndpoint) (map[string]*ec2types.VpcEndpoint, error) {
		tags := func(v *ec2types.VpcEndpoint) []ec2types.Tag { return v.Tags }
		return findEachAmong(e, items, slices.Concat(catalog.GatewayKinds, catalog.InterfaceKinds), func(kind string) ec2Among[ec2types.VpcEndpoint] {
			name := e.Names.VPCEndpoint(kind)
			return ec2Among[ec2types.VpcEndpoint]{kind: "VPC endpoint", label: name, stateKey: vpcEndpointKey(kind),
				named: []func(*ec2types.VpcEndpoint) bool{nameTagIs(name, tags)}, tags: tags,
				id: func(v *ec2types.VpcEndpoint) string { return aws.ToString(v.VpcEndpointId) }}
		})
	})
}

func (s vpcEndpointStep) Claim(ctx context.Context, e *Env) error {
	_, err := s.find(ctx, e)
	return err
}

// endpointSpec is what an endpoint should hold: a gateway's route tables, an interface's
// subnets and security group (and private DNS, always on).
type endpointSpec struct {
	routeTables, subnets, groups []string
}

func (s vpcEndpointStep) spec(e *Env) (endpointSpec, error) {
	if s.gateway() {
		tables, err := e.PrivateRouteTableIDs()
		return endpointSpec{routeTables: tables}, err
	}
	subnets, err := e.SubnetIDs(Private)
	if err != nil {
		return endpointSpec{}, err
	}
	group, err := e.recordedID(keyEndpointSecurityGroup, "the endpoints' security group")
	return endpointSpec{subnets: subnets, groups: []string{group}}, err
}

func (s vpcEndpointStep) Up(ctx context.Context, e *Env) error {
	vpcID, err := e.VPCID()
	if err != nil {
		return err
	}
	want, err := s.spec(e)
	if err != nil {
		return err
	}
	v, err := s.find(ctx, e)
	if err != nil {
		return err
	}
	name := e.Names.VPCEndpoint(s.kind)
	if v == nil {
		return s.create(ctx, e, vpcID, want)
	}
	id := aws.ToString(v.VpcEndpointId)
	if err := e.adoptEC2(ctx, s.Name(), s.label(e), state.Resource{ID: id}, v.Tags, name); err != nil {
		return err
	}
	change, what := endpointChanges(v, want, s.gateway())
	if change == nil {
		e.Unchanged(s.label(e), id)
		return nil
	}
	change.VpcEndpointId = aws.String(id)
	if _, err := e.AWS.EC2.ModifyVpcEndpoint(ctx, change); err != nil {
		return fmt.Errorf("modifying VPC endpoint %s (%s): %w", id, what, err)
	}
	e.Updated(s.label(e), id, what)
	return nil
}

func (s vpcEndpointStep) create(ctx context.Context, e *Env, vpcID string, want endpointSpec) error {
	name := e.Names.VPCEndpoint(s.kind)
	in := &ec2.CreateVpcEndpointInput{
		VpcId: aws.String(vpcID), ServiceName: aws.String(s.serviceName(e)),
		// A resend of a create whose answer was lost returns the same endpoint.
		ClientToken:       aws.String(requestToken(e.Name, name, vpcID)),
		TagSpecifications: e.ec2TagSpec(ec2types.ResourceTypeVpcEndpoint, name),
	}
	where := strings.Join(want.routeTables, ", ")
	if s.gateway() {
		in.VpcEndpointType, in.RouteTableIds = ec2types.VpcEndpointTypeGateway, want.routeTables
	} else {
		in.VpcEndpointType, in.SubnetIds, in.SecurityGroupIds = ec2types.VpcEndpointTypeInterface, want.subnets, want.groups
		in.PrivateDnsEnabled = aws.Bool(true)
		where = strings.Join(want.subnets, ", ")
	}
	out, err := e.AWS.EC2.CreateVpcEndpoint(ctx, in)
	if err != nil {
		return fmt.Errorf("creating VPC endpoint %s for %s in %s: %w", name, s.serviceName(e), where, err)
	}
	// No wait for available: nothing of the platform waits on it, and until it is, the tasks'
	// calls take the NAT gateway as before (private DNS applies once the endpoint is available).
	return e.recordCreated(s.Name(), s.label(e), state.Resource{ID: aws.ToString(out.VpcEndpoint.VpcEndpointId)})
}

// endpointChanges is the ModifyVpcEndpoint call that brings an endpoint to want (nil when it
// holds it), and what it changes, for the summary. A gateway endpoint's route tables, an
// interface endpoint's subnets, security groups and private DNS.
func endpointChanges(have *ec2types.VpcEndpoint, want endpointSpec, gateway bool) (*ec2.ModifyVpcEndpointInput, string) {
	in := &ec2.ModifyVpcEndpointInput{}
	var what []string
	diff := func(label string, have, want []string) (add, remove []string) {
		for _, x := range want {
			if !slices.Contains(have, x) {
				add = append(add, x)
				what = append(what, "+"+label+" "+x)
			}
		}
		for _, x := range have {
			if !slices.Contains(want, x) {
				remove = append(remove, x)
				what = append(what, "-"+label+" "+x)
			}
		}
		return add, remove
	}
	if gateway {
		in.AddRouteTableIds, in.RemoveRouteTableIds = diff("route table", have.RouteTableIds, want.routeTables)
	} else {
		in.AddSubnetIds, in.RemoveSubnetIds = diff("subnet", have.SubnetIds, want.subnets)
		var groups []string
		for _, g := range have.Groups {
			groups = append(groups, aws.ToString(g.GroupId))
		}
		in.AddSecurityGroupIds, in.RemoveSecurityGroupIds = diff("security group", groups, want.groups)
		if !aws.ToBool(have.PrivateDnsEnabled) {
			in.PrivateDnsEnabled = aws.Bool(true)
			what = append(what, "private DNS on")
		}
	}
	if len(what) == 0 {
		return nil, ""
	}
	return in, strings.Join(what, ", ")
}

func (s vpcEndpointStep) Down(ctx context.Context, e *Env) error {
	v, err := s.find(ctx, e)
	return removeFound(e, s.Name(), s.label(e), v, err, func(v *ec2types.VpcEndpoint) string { return aws.ToString(v.VpcEndpointId) }, func(id string) error {
		out, err := e.AWS.EC2.DeleteVpcEndpoints(ctx, &ec2.DeleteVpcEndpointsInput{VpcEndpointIds: []string{id}})
		if err := goneIsDone("deleting VPC endpoint "+id, err); err != nil {
			return err
		}
		if out != nil && len(out.Unsuccessful) > 0 {
			u := out.Unsuccessful[0]
			if u.Error != nil && !strings.Contains(aws.ToString(u.Error.Code), "NotFound") {
				return fmt.Errorf("deleting VPC endpoint %s: %s: %s", id, aws.ToString(u.Error.Code), aws.ToString(u.Error.Message))
			}
		}
		return waitEndpointGone(ctx, e, id, v.NetworkInterfaceIds)
	})
}

// waitEndpointGone waits, bounded by the dependencies timeout, until AWS lists the endpoint as
// deleted (or not at all) and its network interfaces are gone: until then they hold the
// subnets and the security group (DependencyViolation).
func waitEndpointGone(ctx context.Context, e *Env, id string, enis []string) error {
	return waitGone(ctx, e, "VPC endpoint "+id+" and its network interfaces", func() (bool, error) { return endpointGone(ctx, e, id, enis) })
}

// endpointGone says whether the endpoint is deleted and none of its network interfaces remain.
func endpointGone(ctx context.Context, e *Env, id string, enis []string) (bool, error) {
	out, err := e.AWS.EC2.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{id}})
	switch {
	case cloud.IsNotFound(err):
	case err != nil:
		return false, fmt.Errorf("describing VPC endpoint %s: %w", id, err)
	case len(out.VpcEndpoints) > 0 && !strings.EqualFold(string(out.VpcEndpoints[0].State), "deleted"):
		return false, nil
	}
	if len(enis) == 0 {
		return true, nil
	}
	left, err := e.AWS.EC2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{
		Filters: []ec2types.Filter{{Name: aws.String("network-interface-id"), Values: enis}},
	})
	if err != nil {
		return false, fmt.Errorf("describing the network interfaces of VPC endpoint %s: %w", id, err)
	}
	return len(left.NetworkInterfaces) == 0, nil
}

func (s vpcEndpointStep) Inspect(ctx context.Context, e *Env) []Status {
	v, err := s.find(ctx, e)
	return []Status{{Resource: s.label(e), StateID: e.StateID(s.Name()),
		AWS: engine.Observe(err, v != nil, func() string { return endpointHeld(v) })}}
}

// endpointHeld is what status says of an endpoint.
func endpointHeld(v *ec2types.VpcEndpoint) string {
	if v.VpcEndpointType == ec2types.VpcEndpointTypeGateway {
		return fmt.Sprintf("%s gateway, %d route tables", strings.ToLower(string(v.State)), len(v.RouteTableIds))
	}
	return fmt.Sprintf("%s interface, %d subnets, private DNS %v", strings.ToLower(string(v.State)), len(v.SubnetIds), aws.ToBool(v.PrivateDnsEnabled))
}

// retiredEndpointStep deletes an endpoint the network no longer wants (plan shows a delete).
// Without one found or recorded it makes no call beyond the claim's read, and status lists
// nothing.
type retiredEndpointStep struct{ vpcEndpointStep }

func (retiredEndpointStep) Retires() {}

func (r retiredEndpointStep) Up(ctx context.Context, e *Env) error {
	v, err := r.find(ctx, e)
	if err != nil || v == nil && e.StateID(r.Name()) == "" {
		return err
	}
	return r.Down(ctx, e)
}

func (r retiredEndpointStep) Inspect(ctx context.Context, e *Env) []Status {
	v, err := r.find(ctx, e)
	if err == nil && v == nil && e.StateID(r.Name()) == "" {
		return nil
	}
	return r.vpcEndpointStep.Inspect(ctx, e)
}

// endpointSteps are the steps of every endpoint kind: wanted ones converge, the others retire.
func endpointSteps(n catalog.Network) []Step {
	var steps []Step
	for _, kind := range catalog.GatewayKinds {
		s := vpcEndpointStep{kind}
		if n.GatewayEndpoints {
			steps = append(steps, s)
		} else {
			steps = append(steps, retiredEndpointStep{s})
		}
	}
	for _, kind := range catalog.InterfaceKinds {
		s := vpcEndpointStep{kind}
		if slices.Contains(n.InterfaceEndpoints, kind) {
			steps = append(steps, s)
		} else {
			steps = append(steps, retiredEndpointStep{s})
		}
	}
	return steps
}
