package provision

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	meshtypes "github.com/aws/aws-sdk-go-v2/service/appmesh/types"

	"github.com/tapctl/tapctl/catalog"
)

func TestSameVirtualNode(t *testing.T) {
	e := NewEnv("pr1")
	step := virtualNodeStep{catalog.WithDefaults("payment", 10)}
	cases := []struct {
		name  string
		drift func(s *meshtypes.VirtualNodeSpec) *meshtypes.VirtualNodeSpec
		want  bool
	}{
		{"as the spec wants", func(s *meshtypes.VirtualNodeSpec) *meshtypes.VirtualNodeSpec { return s }, true},
		{"no spec", func(*meshtypes.VirtualNodeSpec) *meshtypes.VirtualNodeSpec { return nil }, false},
		{"no listener", func(s *meshtypes.VirtualNodeSpec) *meshtypes.VirtualNodeSpec { s.Listeners = nil; return s }, false},
		{"another port", func(s *meshtypes.VirtualNodeSpec) *meshtypes.VirtualNodeSpec {
			s.Listeners[0].PortMapping.Port = aws.Int32(8080)
			return s
		}, false},
		{"another health check path", func(s *meshtypes.VirtualNodeSpec) *meshtypes.VirtualNodeSpec {
			s.Listeners[0].HealthCheck.Path = aws.String("/other")
			return s
		}, false},
		{"another unhealthy threshold", func(s *meshtypes.VirtualNodeSpec) *meshtypes.VirtualNodeSpec {
			s.Listeners[0].HealthCheck.UnhealthyThreshold = aws.Int32(9)
			return s
		}, false},
		{"no health check", func(s *meshtypes.VirtualNodeSpec) *meshtypes.VirtualNodeSpec {
			s.Listeners[0].HealthCheck = nil
			return s
		}, false},
		{"another hostname", func(s *meshtypes.VirtualNodeSpec) *meshtypes.VirtualNodeSpec {
			s.ServiceDiscovery = &meshtypes.ServiceDiscoveryMemberDns{Value: meshtypes.DnsServiceDiscovery{Hostname: aws.String("x.pr1.local")}}
			return s
		}, false},
		{"Cloud Map discovery instead of DNS", func(s *meshtypes.VirtualNodeSpec) *meshtypes.VirtualNodeSpec {
			s.ServiceDiscovery = &meshtypes.ServiceDiscoveryMemberAwsCloudMap{}
			return s
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := sameVirtualNode(c.drift(step.spec(e)), step.spec(e)); got != c.want {
				t.Errorf("sameVirtualNode = %v, want %v", got, c.want)
			}
		})
	}
}

func TestProvidedByNode(t *testing.T) {
	byNode := func(node string) *meshtypes.VirtualServiceSpec {
		return &meshtypes.VirtualServiceSpec{Provider: &meshtypes.VirtualServiceProviderMemberVirtualNode{
			Value: meshtypes.VirtualNodeServiceProvider{VirtualNodeName: aws.String(node)},
		}}
	}
	cases := []struct {
		name string
		spec *meshtypes.VirtualServiceSpec
		want bool
	}{
		{"the service's node", byNode("payment-node-pr1"), true},
		{"another node", byNode("order-node-pr1"), false},
		{"a router", &meshtypes.VirtualServiceSpec{Provider: &meshtypes.VirtualServiceProviderMemberVirtualRouter{}}, false},
		{"no provider", &meshtypes.VirtualServiceSpec{}, false},
		{"no spec", nil, false},
	}
	for _, c := range cases {
		if got := providedByNode(c.spec, "payment-node-pr1"); got != c.want {
			t.Errorf("%s: providedByNode = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestMeshAllowsEgress(t *testing.T) {
	cases := []struct {
		name string
		spec *meshtypes.MeshSpec
		want bool
	}{
		{"ALLOW_ALL", meshSpec(), true},
		{"DROP_ALL", &meshtypes.MeshSpec{EgressFilter: &meshtypes.EgressFilter{Type: meshtypes.EgressFilterTypeDropAll}}, false},
		{"no filter (App Mesh's default is DROP_ALL)", &meshtypes.MeshSpec{}, false},
		{"no spec", nil, false},
	}
	for _, c := range cases {
		if got := meshAllowsEgress(c.spec); got != c.want {
			t.Errorf("%s: meshAllowsEgress = %v, want %v", c.name, got, c.want)
		}
	}
}
