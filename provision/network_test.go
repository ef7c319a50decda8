package provision

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tapctl/tapctl/catalog"
)

// Each AZ's private subnet goes to its own AZ's NAT gateway with three, else to the first's.
func TestNATForAZ(t *testing.T) {
	for _, tc := range []struct{ nats, az, want int }{{1, 0, 0}, {1, 1, 0}, {1, 2, 0}, {3, 0, 0}, {3, 1, 1}, {3, 2, 2}} {
		if got := natForAZ(tc.nats, tc.az); got != tc.want {
			t.Errorf("natForAZ(%d, %d) = %d, want %d", tc.nats, tc.az, got, tc.want)
		}
	}
	for _, tc := range []struct {
		nats int
		az   int
		want bool
	}{{1, 0, true}, {1, 1, false}, {1, 2, false}, {3, 1, true}, {3, 2, true}} {
		if got := natWanted(catalog.Network{NATGateways: tc.nats}, tc.az); got != tc.want {
			t.Errorf("natWanted(%d, %d) = %v", tc.nats, tc.az, got)
		}
	}
}

func TestEndpointChanges(t *testing.T) {
	gw := func(tables ...string) *ec2types.VpcEndpoint {
		return &ec2types.VpcEndpoint{VpcEndpointType: ec2types.VpcEndpointTypeGateway, RouteTableIds: tables}
	}
	iface := func(dns bool, groups []string, subnets ...string) *ec2types.VpcEndpoint {
		v := &ec2types.VpcEndpoint{VpcEndpointType: ec2types.VpcEndpointTypeInterface, SubnetIds: subnets, PrivateDnsEnabled: aws.Bool(dns)}
		for _, g := range groups {
			v.Groups = append(v.Groups, ec2types.SecurityGroupIdentifier{GroupId: aws.String(g)})
		}
		return v
	}
	for _, tc := range []struct {
		name    string
		have    *ec2types.VpcEndpoint
		want    endpointSpec
		gateway bool
		what    string
	}{
		{"gateway on every private table", gw("rtb-1", "rtb-2", "rtb-3"), endpointSpec{routeTables: []string{"rtb-1", "rtb-2", "rtb-3"}}, true, ""},
		{"gateway on a new private table", gw("rtb-1"), endpointSpec{routeTables: []string{"rtb-1", "rtb-2", "rtb-3"}}, true, "+route table rtb-2, +route table rtb-3"},
		{"gateway on a foreign table", gw("rtb-1", "rtb-x"), endpointSpec{routeTables: []string{"rtb-1"}}, true, "-route table rtb-x"},
		{"interface as wanted", iface(true, []string{"sg-1"}, "s-1", "s-2", "s-3"), endpointSpec{subnets: []string{"s-1", "s-2", "s-3"}, groups: []string{"sg-1"}}, false, ""},
		{"interface drifted", iface(false, []string{"sg-x"}, "s-1"), endpointSpec{subnets: []string{"s-1", "s-2"}, groups: []string{"sg-1"}}, false,
			"+subnet s-2, +security group sg-1, -security group sg-x, private DNS on"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, what := endpointChanges(tc.have, tc.want, tc.gateway)
			if what != tc.what || (in == nil) != (tc.what == "") {
				t.Fatalf("got %v %q, want %q", in, what, tc.what)
			}
		})
	}
}

// The platform has a NAT gateway step per AZ, the wanted ones converging; every endpoint kind
// has a step, the unwanted ones retiring; the route tables run after every NAT gateway step and
// the retirement after the route tables and the endpoints.
func TestPlatformNetworkSteps(t *testing.T) {
	for _, n := range []catalog.Network{catalog.DefaultNetwork(), {NATGateways: 3, InterfaceEndpoints: catalog.InterfaceKinds}} {
		steps := Platform(catalog.Default(), Choices{Mesh: MeshServiceConnect, Strategy: BlueGreen, Network: n})
		byName := map[string]Step{}
		for _, s := range steps {
			byName[s.Name()] = s
		}
		for az := range AZCount {
			s, ok := byName[natKey(az)].(natGatewayStep)
			if !ok || s.wanted != (az == 0 || n.NATGateways == 3) {
				t.Errorf("%+v: NAT gateway step of AZ %d = %#v", n, az, byName[natKey(az)])
			}
			if !slices.Contains(byName["route-tables"].DependsOn(), natKey(az)) {
				t.Errorf("route tables do not run after %s", natKey(az))
			}
		}
		for _, kind := range slices.Concat(catalog.GatewayKinds, catalog.InterfaceKinds) {
			s := byName[vpcEndpointKey(kind)]
			_, retires := s.(retiredEndpointStep)
			wanted := slices.Contains(n.InterfaceEndpoints, kind) || slices.Contains(catalog.GatewayKinds, kind) && n.GatewayEndpoints
			if s == nil || retires == wanted {
				t.Errorf("%+v: endpoint step %s = %#v", n, kind, s)
			}
			if !slices.Contains(byName["retire/network"].DependsOn(), vpcEndpointKey(kind)) {
				t.Errorf("the network retirement does not run after %s", kind)
			}
		}
	}
	overlay := Platform(catalog.Default(), Choices{Base: "base", Network: catalog.Network{NATGateways: 3}})
	for _, s := range overlay {
		if strings.HasPrefix(s.Name(), "nat-gateway") || strings.HasPrefix(s.Name(), "vpc-endpoint") && !isBorrowed(s) {
			t.Errorf("an overlay has its own %s", s.Name())
		}
	}
}

func isBorrowed(s Step) bool { _, ok := s.(borrowedStep); return ok }

func TestNetworkSettingRoundTrip(t *testing.T) {
	for _, n := range []catalog.Network{catalog.DefaultNetwork(), {NATGateways: 3, InterfaceEndpoints: []string{"ecr.api", "logs"}}, {NATGateways: 1}} {
		got, err := ParseNetworkSetting(NetworkSetting(n))
		if err != nil || !reflect.DeepEqual(got, n) {
			t.Errorf("%+v: got %+v, %v", n, got, err)
		}
	}
	for _, bad := range []string{"", "natGateways=2;gatewayEndpoints=true;interfaceEndpoints=", "natGateways=1", "natGateways=1;gatewayEndpoints=true;interfaceEndpoints=sqs"} {
		if _, err := ParseNetworkSetting(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
