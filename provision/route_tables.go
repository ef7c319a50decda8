package provision

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/state"
)

const defaultRoute = "0.0.0.0/0"

// routeTablesStep owns the public route table and one private route table per AZ (as the
// source design's CDK VPC makes them), their default routes and their subnet associations: one
// small group that only makes sense together. Each private table sends 0.0.0.0/0 to its AZ's
// NAT gateway when there is one per AZ (natGateways 3), else to the first AZ's (natForAZ). It
// runs after every NAT gateway step, so a new gateway is available before a route points at
// it; a gateway no longer wanted is deleted after it (networkRetireStep).
type routeTablesStep struct{ natGateways int }

func (routeTablesStep) Name() string { return "route-tables" }
func (routeTablesStep) DependsOn() []string {
	deps := []string{"subnets", keyInternetGateway}
	for az := range AZCount {
		deps = append(deps, natKey(az))
	}
	return deps
}

// privateKind is the route table of an AZ's private subnet: the first AZ's keeps the name and
// key of the one private table environments had before.
func privateKind(az int) string {
	if az == 0 {
		return Private
	}
	return fmt.Sprintf("%s-%d", Private, az+1)
}

// routeTableKinds are the public table's and each AZ's private table's, in that order.
func routeTableKinds() []string {
	kinds := []string{Public}
	for az := range AZCount {
		kinds = append(kinds, privateKind(az))
	}
	return kinds
}

// PrivateRouteTableIDs are the recorded private route tables, in AZ order.
func (e *Env) PrivateRouteTableIDs() ([]string, error) {
	var ids []string
	for az := range AZCount {
		id, err := e.recordedID(routeTableKey(privateKind(az)), "the private route tables")
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// findRouteTables reads every route table of the VPC in one call (once per run) and picks ours
// (matchRouteTables).
func findRouteTables(ctx context.Context, e *Env, vpcID string) (map[string]*ec2types.RouteTable, error) {
	return ownedInVPC(e, "route-tables", "route tables", vpcID, func() ([]ec2types.RouteTable, error) {
		out, err := e.AWS.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: inVPC(vpcID)})
		return listed(out, err, func(o *ec2.DescribeRouteTablesOutput) []ec2types.RouteTable { return o.RouteTables })
	}, matchRouteTables)
}

// matchRouteTables picks the public and the private table out of the VPC's, by state ID, then
// Name tag; each must be the environment's.
func matchRouteTables(e *Env, tables []ec2types.RouteTable) (map[string]*ec2types.RouteTable, error) {
	tags := func(rt *ec2types.RouteTable) []ec2types.Tag { return rt.Tags }
	return findEachAmong(e, tables, routeTableKinds(), func(kind string) ec2Among[ec2types.RouteTable] {
		name := e.Names.RouteTable(kind)
		return ec2Among[ec2types.RouteTable]{
			kind: "route table", label: name, stateKey: routeTableKey(kind),
			named: []func(*ec2types.RouteTable) bool{nameTagIs(name, tags)},
			tags:  tags, id: func(rt *ec2types.RouteTable) string { return aws.ToString(rt.RouteTableId) },
		}
	})
}

func (routeTablesStep) Claim(ctx context.Context, e *Env) error {
	vpc, err := findVPC(ctx, e)
	if err != nil || vpc == nil {
		return err
	}
	_, err = findRouteTables(ctx, e, aws.ToString(vpc.VpcId))
	return err
}

func (s routeTablesStep) Up(ctx context.Context, e *Env) error {
	vpcID, err := e.VPCID()
	if err != nil {
		return err
	}
	igwID := e.StateID(keyInternetGateway)
	found, err := findRouteTables(ctx, e, vpcID)
	if err != nil {
		return err
	}
	public, err := e.SubnetIDs(Public)
	if err != nil {
		return err
	}
	if err := ensureRouteTable(ctx, e, Public, vpcID, found[Public], ec2types.Route{GatewayId: aws.String(igwID)}, public); err != nil {
		return err
	}
	private, err := e.SubnetIDs(Private)
	if err != nil {
		return err
	}
	// The other AZs' tables first: an environment made with one private table for the three
	// subnets moves each subnet's association to its own table (ReplaceRouteTableAssociation,
	// which never leaves the subnet without a table).
	for _, az := range []int{1, 2, 0} {
		natID, err := e.NATGatewayID(natForAZ(s.natGateways, az))
		if err != nil {
			return err
		}
		kind := privateKind(az)
		target := ec2types.Route{NatGatewayId: aws.String(natID)}
		if err := ensureRouteTable(ctx, e, kind, vpcID, found[kind], target, private[az:az+1]); err != nil {
			return err
		}
	}
	return nil
}

func ensureRouteTable(ctx context.Context, e *Env, kind, vpcID string, rt *ec2types.RouteTable, target ec2types.Route, subnets []string) error {
	name := e.Names.RouteTable(kind)
	changed := false
	if rt == nil {
		out, err := e.AWS.EC2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{
			VpcId: aws.String(vpcID),
			// A retry of a create whose answer was lost returns the same table.
			ClientToken:       aws.String(requestToken(e.Name, name, vpcID)),
			TagSpecifications: e.ec2TagSpec(ec2types.ResourceTypeRouteTable, name),
		})
		if err != nil {
			return fmt.Errorf("creating route table %s in %s: %w", name, vpcID, err)
		}
		rt = out.RouteTable
		if err := e.recordCreated(routeTableKey(kind), "route table "+name, state.Resource{ID: aws.ToString(rt.RouteTableId)}); err != nil {
			return err
		}
		changed = true
	} else if err := e.adoptEC2(ctx, routeTableKey(kind), "route table "+name, state.Resource{ID: aws.ToString(rt.RouteTableId)}, rt.Tags, name); err != nil {
		return err
	}
	id := aws.ToString(rt.RouteTableId)

	routeChanged, err := ensureDefaultRoute(ctx, e, name, rt, target)
	if err != nil {
		return err
	}
	assocChanged, err := ensureAssociations(ctx, e, name, rt, subnets)
	if err != nil {
		return err
	}
	if !changed && !routeChanged && !assocChanged {
		e.Unchanged("route table "+name, id)
	}
	return nil
}

// routeChange is what the default route needs.
type routeChange int

const (
	routeRight   routeChange = iota // it points at the target
	routeMissing                    // none: CreateRoute
	routeWrong                      // it points elsewhere or is blackholed: ReplaceRoute
)

// routeTarget names where a route sends traffic: its internet or NAT gateway.
func routeTarget(r ec2types.Route) string {
	return aws.ToString(r.GatewayId) + aws.ToString(r.NatGatewayId)
}

// defaultTarget is where the table's 0.0.0.0/0 route sends traffic, "none" without one.
func defaultTarget(routes []ec2types.Route) string {
	target := "none"
	for _, r := range routes {
		if aws.ToString(r.DestinationCidrBlock) == defaultRoute {
			target = routeTarget(r)
		}
	}
	return target
}

// defaultRouteChange compares the table's 0.0.0.0/0 route (the last one listed) with target.
func defaultRouteChange(routes []ec2types.Route, target ec2types.Route) routeChange {
	var current *ec2types.Route
	for i := range routes {
		if aws.ToString(routes[i].DestinationCidrBlock) == defaultRoute {
			current = &routes[i]
		}
	}
	switch {
	case current == nil:
		return routeMissing
	case current.State == ec2types.RouteStateBlackhole || routeTarget(*current) != routeTarget(target):
		return routeWrong
	}
	return routeRight
}

// ensureDefaultRoute makes 0.0.0.0/0 point at the target: created when missing (for example
// deleted by hand), replaced when it points elsewhere or is blackholed.
func ensureDefaultRoute(ctx context.Context, e *Env, name string, rt *ec2types.RouteTable, target ec2types.Route) (bool, error) {
	id, want := aws.ToString(rt.RouteTableId), routeTarget(target)
	var err error
	change := defaultRouteChange(rt.Routes, target)
	switch change {
	case routeRight:
		return false, nil
	case routeMissing:
		_, err = e.AWS.EC2.CreateRoute(ctx, &ec2.CreateRouteInput{
			RouteTableId: aws.String(id), DestinationCidrBlock: aws.String(defaultRoute),
			GatewayId: target.GatewayId, NatGatewayId: target.NatGatewayId,
		})
	case routeWrong:
		_, err = e.AWS.EC2.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{
			RouteTableId: aws.String(id), DestinationCidrBlock: aws.String(defaultRoute),
			GatewayId: target.GatewayId, NatGatewayId: target.NatGatewayId,
		})
	}
	verb, done := "creating", "added route "+defaultRoute+" -> "+want
	if change == routeWrong {
		verb, done = "replacing", "route "+defaultRoute+" now -> "+want
	}
	if err != nil {
		return false, fmt.Errorf("%s route %s -> %s in %s: %w", verb, defaultRoute, want, id, err)
	}
	e.Updated("route table "+name, id, done)
	return true, nil
}

// unassociated are the subnets not yet associated with the table, in the given order.
func unassociated(rt *ec2types.RouteTable, subnets []string) []string {
	have := map[string]bool{}
	for _, a := range rt.Associations {
		if a.SubnetId != nil {
			have[aws.ToString(a.SubnetId)] = true
		}
	}
	var out []string
	for _, subnet := range subnets {
		if !have[subnet] {
			out = append(out, subnet)
		}
	}
	return out
}

// ensureAssociations associates each subnet with the table. A subnet explicitly associated with
// another table is moved with ReplaceRouteTableAssociation, which needs that association's ID.
func ensureAssociations(ctx context.Context, e *Env, name string, rt *ec2types.RouteTable, subnets []string) (bool, error) {
	id := aws.ToString(rt.RouteTableId)
	changed := false
	for _, subnet := range unassociated(rt, subnets) {
		_, err := e.AWS.EC2.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: aws.String(id), SubnetId: aws.String(subnet)})
		if cloud.HasCode(err, "Resource.AlreadyAssociated") {
			err = moveAssociation(ctx, e, id, subnet)
		}
		if err != nil {
			return changed, fmt.Errorf("associating subnet %s with route table %s: %w", subnet, id, err)
		}
		e.Updated("route table "+name, id, "associated "+subnet)
		changed = true
	}
	return changed, nil
}

func moveAssociation(ctx context.Context, e *Env, routeTableID, subnet string) error {
	out, err := e.AWS.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{
		Filters: []ec2types.Filter{{Name: aws.String("association.subnet-id"), Values: []string{subnet}}},
	})
	if err != nil {
		return err
	}
	for _, other := range out.RouteTables {
		for _, a := range other.Associations {
			if aws.ToString(a.SubnetId) == subnet {
				_, err := e.AWS.EC2.ReplaceRouteTableAssociation(ctx, &ec2.ReplaceRouteTableAssociationInput{
					AssociationId: a.RouteTableAssociationId, RouteTableId: aws.String(routeTableID),
				})
				return err
			}
		}
	}
	return fmt.Errorf("subnet %s is associated elsewhere but the association was not found", subnet)
}

// routeTableGroup is the public and the private tables, for Down and Inspect.
func routeTableGroup(ctx context.Context, e *Env) vpcGroup[string, ec2types.RouteTable] {
	return vpcGroup[string, ec2types.RouteTable]{
		keys:     routeTableKinds(),
		find:     func(vpcID string) (map[string]*ec2types.RouteTable, error) { return findRouteTables(ctx, e, vpcID) },
		stateKey: routeTableKey,
		label:    func(kind string) string { return "route table " + e.Names.RouteTable(kind) },
		id:       func(rt *ec2types.RouteTable) string { return aws.ToString(rt.RouteTableId) },
	}
}

// Down lets go of the subnets first, all at once: a table with explicit associations cannot be
// deleted.
func (routeTablesStep) Down(ctx context.Context, e *Env) error {
	order := routeTableKinds()
	slices.Reverse(order) // the private tables first in the log, as before; they go side by side
	return routeTableGroup(ctx, e).removeEach(ctx, e, order, func(rt *ec2types.RouteTable, id string) error {
		if err := eachAtOnce(len(rt.Associations), func(i int) error {
			a := rt.Associations[i]
			if aws.ToBool(a.Main) {
				return nil
			}
			_, err := e.AWS.EC2.DisassociateRouteTable(ctx, &ec2.DisassociateRouteTableInput{AssociationId: a.RouteTableAssociationId})
			return goneIsDone("disassociating "+aws.ToString(a.SubnetId)+" from route table "+id, err)
		}); err != nil {
			return err
		}
		_, err := e.AWS.EC2.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: aws.String(id)})
		return goneIsDone("deleting route table "+id, err)
	})
}

func (routeTablesStep) Inspect(ctx context.Context, e *Env) []Status {
	return routeTableGroup(ctx, e).inspectEach(e, func(rt *ec2types.RouteTable) string {
		return fmt.Sprintf("%d routes (%s -> %s), %d associations", len(rt.Routes), defaultRoute, defaultTarget(rt.Routes), len(rt.Associations))
	})
}
