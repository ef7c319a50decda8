package provision

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func route(dest string, target ec2types.Route, state ec2types.RouteState) ec2types.Route {
	target.DestinationCidrBlock, target.State = aws.String(dest), state
	return target
}

// The default route as the table holds it against the gateway it must point at.
func TestDefaultRouteChange(t *testing.T) {
	igw := ec2types.Route{GatewayId: aws.String("igw-1")}
	nat := ec2types.Route{NatGatewayId: aws.String("nat-1")}
	local := route("10.0.0.0/16", ec2types.Route{GatewayId: aws.String("local")}, ec2types.RouteStateActive)
	cases := []struct {
		name   string
		held   []ec2types.Route
		target ec2types.Route
		want   routeChange
	}{
		{"public, right", []ec2types.Route{local, route(defaultRoute, igw, ec2types.RouteStateActive)}, igw, routeRight},
		{"private, right", []ec2types.Route{local, route(defaultRoute, nat, ec2types.RouteStateActive)}, nat, routeRight},
		{"only the local route", []ec2types.Route{local}, igw, routeMissing},
		{"no routes at all", nil, nat, routeMissing},
		{"blackholed: the NAT gateway was replaced", []ec2types.Route{local, route(defaultRoute, nat, ec2types.RouteStateBlackhole)}, nat, routeWrong},
		{"to the old NAT gateway", []ec2types.Route{route(defaultRoute, ec2types.Route{NatGatewayId: aws.String("nat-0")}, ec2types.RouteStateActive)}, nat, routeWrong},
		{"private table pointed at the internet gateway", []ec2types.Route{route(defaultRoute, igw, ec2types.RouteStateActive)}, nat, routeWrong},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := defaultRouteChange(c.held, c.target); got != c.want {
				t.Errorf("defaultRouteChange = %d, want %d", got, c.want)
			}
		})
	}
}

// The subnets a table must still be associated with; the main association has no subnet.
func TestUnassociatedSubnets(t *testing.T) {
	assoc := func(subnet string) ec2types.RouteTableAssociation {
		return ec2types.RouteTableAssociation{SubnetId: aws.String(subnet)}
	}
	main := ec2types.RouteTableAssociation{Main: aws.Bool(true)}
	wanted := []string{"subnet-a", "subnet-b", "subnet-c"}
	cases := []struct {
		name string
		held []ec2types.RouteTableAssociation
		want []string
	}{
		{"none yet", nil, wanted},
		{"the main association only", []ec2types.RouteTableAssociation{main}, wanted},
		{"all", []ec2types.RouteTableAssociation{assoc("subnet-c"), assoc("subnet-a"), assoc("subnet-b")}, nil},
		{"one moved away by hand", []ec2types.RouteTableAssociation{assoc("subnet-a"), assoc("subnet-c")}, []string{"subnet-b"}},
		{"an extra subnet is left as it is", []ec2types.RouteTableAssociation{assoc("subnet-a"), assoc("subnet-b"), assoc("subnet-c"), assoc("subnet-x")}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := unassociated(&ec2types.RouteTable{Associations: c.held}, wanted); !slices.Equal(got, c.want) {
				t.Errorf("unassociated = %v, want %v", got, c.want)
			}
		})
	}
}

// The two tables are picked by the state file's ID, then their Name tag.
func TestMatchRouteTables(t *testing.T) {
	table := func(id string, tags []ec2types.Tag) ec2types.RouteTable {
		return ec2types.RouteTable{RouteTableId: aws.String(id), Tags: tags}
	}
	vpcMain := table("rtb-main", nil)
	found, err := matchRouteTables(netTestEnv(t, map[string]string{routeTableKey(Private): "rtb-2"}), []ec2types.RouteTable{
		vpcMain,
		table("rtb-1", ownedEC2Tags("pr1", "microservices-public-rt-pr1")),
		table("rtb-2", ownedEC2Tags("pr1", "renamed")),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(found[Public].RouteTableId); got != "rtb-1" {
		t.Errorf("public table %q, want rtb-1 (its Name tag)", got)
	}
	if got := aws.ToString(found[Private].RouteTableId); got != "rtb-2" {
		t.Errorf("private table %q, want rtb-2 (the state file's ID)", got)
	}
}
