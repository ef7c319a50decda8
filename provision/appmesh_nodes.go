package provision

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	meshtypes "github.com/aws/aws-sdk-go-v2/service/appmesh/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// virtualNodeStep owns a service's virtual node: DNS discovery of {svc}.{env}.local and the
// HTTP listener with SPEC row 10's health check.
type virtualNodeStep struct{ svc catalog.Service }

func (s virtualNodeStep) Name() string        { return serviceKey(s.svc.Name, kindVirtualNode) }
func (s virtualNodeStep) DependsOn() []string { return []string{keyMesh} }
func (s virtualNodeStep) key() string         { return s.Name() }

func (s virtualNodeStep) spec(e *Env) *meshtypes.VirtualNodeSpec {
	return &meshtypes.VirtualNodeSpec{
		Listeners: []meshtypes.Listener{{
			PortMapping: &meshtypes.PortMapping{Port: aws.Int32(s.svc.Port), Protocol: meshtypes.PortProtocolHttp},
			HealthCheck: &meshtypes.HealthCheckPolicy{
				Protocol: meshtypes.PortProtocolHttp, Path: aws.String(s.svc.HealthPath),
				IntervalMillis: aws.Int64(healthInterval * 1000), TimeoutMillis: aws.Int64(healthTimeout * 1000),
				HealthyThreshold: aws.Int32(healthyThreshold), UnhealthyThreshold: aws.Int32(unhealthyThreshold),
			},
		}},
		ServiceDiscovery: &meshtypes.ServiceDiscoveryMemberDns{Value: meshtypes.DnsServiceDiscovery{
			Hostname: aws.String(s.svc.Name + "." + e.Names.Namespace()),
		}},
	}
}

func sameVirtualNode(have, want *meshtypes.VirtualNodeSpec) bool {
	if have == nil || len(have.Listeners) != 1 {
		return false
	}
	hl, wl := have.Listeners[0], want.Listeners[0]
	if hl.PortMapping == nil || aws.ToInt32(hl.PortMapping.Port) != aws.ToInt32(wl.PortMapping.Port) || hl.PortMapping.Protocol != wl.PortMapping.Protocol {
		return false
	}
	h, w := hl.HealthCheck, wl.HealthCheck
	if h == nil || h.Protocol != w.Protocol || aws.ToString(h.Path) != aws.ToString(w.Path) ||
		aws.ToInt64(h.IntervalMillis) != aws.ToInt64(w.IntervalMillis) || aws.ToInt64(h.TimeoutMillis) != aws.ToInt64(w.TimeoutMillis) ||
		aws.ToInt32(h.HealthyThreshold) != aws.ToInt32(w.HealthyThreshold) || aws.ToInt32(h.UnhealthyThreshold) != aws.ToInt32(w.UnhealthyThreshold) {
		return false
	}
	dns, ok := have.ServiceDiscovery.(*meshtypes.ServiceDiscoveryMemberDns)
	return ok && aws.ToString(dns.Value.Hostname) == aws.ToString(want.ServiceDiscovery.(*meshtypes.ServiceDiscoveryMemberDns).Value.Hostname)
}

// find reads the virtual node; it is proven through its mesh (ownership.go).
func (s virtualNodeStep) find(ctx context.Context, e *Env) (*meshtypes.VirtualNodeData, error) {
	name := e.Names.VirtualNode(s.svc.Name)
	return describeInMesh(ctx, e, "virtual node "+name, func() (*meshtypes.VirtualNodeData, error) {
		out, err := e.AWS.AppMesh.DescribeVirtualNode(ctx, &appmesh.DescribeVirtualNodeInput{MeshName: aws.String(e.Names.Mesh()), VirtualNodeName: aws.String(name)})
		if err != nil {
			return nil, err
		}
		return out.VirtualNode, nil
	})
}

func (s virtualNodeStep) Claim(ctx context.Context, e *Env) error {
	_, err := s.find(ctx, e)
	return err
}

func (s virtualNodeStep) Up(ctx context.Context, e *Env) error {
	name := e.Names.VirtualNode(s.svc.Name)
	node, err := s.find(ctx, e)
	if err != nil {
		return err
	}
	var have *state.Resource
	drift := ""
	if node != nil {
		have = &state.Resource{ID: name}
		if !sameVirtualNode(node.Spec, s.spec(e)) {
			drift = "listener, health check, discovery"
		}
	}
	return convergeNamed(e, s.key(), "virtual node "+name, have, func() (state.Resource, error) {
		if _, err := e.AWS.AppMesh.CreateVirtualNode(ctx, &appmesh.CreateVirtualNodeInput{
			MeshName: aws.String(e.Names.Mesh()), VirtualNodeName: aws.String(name), Spec: s.spec(e), Tags: e.meshTags(name, s.svc.Name),
		}); err != nil {
			return state.Resource{}, fmt.Errorf("creating virtual node %s: %w", name, err)
		}
		return state.Resource{ID: name}, nil
	}, drift, func() error {
		if _, err := e.AWS.AppMesh.UpdateVirtualNode(ctx, &appmesh.UpdateVirtualNodeInput{
			MeshName: aws.String(e.Names.Mesh()), VirtualNodeName: aws.String(name), Spec: s.spec(e),
		}); err != nil {
			return fmt.Errorf("updating virtual node %s: %w", name, err)
		}
		return nil
	})
}

func (s virtualNodeStep) Down(ctx context.Context, e *Env) error {
	node, err := s.find(ctx, e)
	if err != nil {
		return err
	}
	name := e.Names.VirtualNode(s.svc.Name)
	return deleteThenForget(e, s.key(), node != nil, "virtual node "+name, name, func() error {
		// A node still named by a virtual service is in use until that service is gone.
		return retryWhileInUse(ctx, "virtual node "+name, e.Timeouts.Dependencies, cloud.DependencyCodes, func(ctx context.Context) error {
			_, err := e.AWS.AppMesh.DeleteVirtualNode(ctx, &appmesh.DeleteVirtualNodeInput{MeshName: aws.String(e.Names.Mesh()), VirtualNodeName: aws.String(name)})
			return err
		})
	})
}

func (s virtualNodeStep) Inspect(ctx context.Context, e *Env) []Status {
	node, err := s.find(ctx, e)
	return []Status{{Resource: "virtual node " + e.Names.VirtualNode(s.svc.Name), StateID: e.StateID(s.key()),
		AWS: engine.Observe(err, node != nil, func() string { return "active" })}}
}

// virtualServiceStep owns the virtual service {svc}.local, provided by the service's node.
type virtualServiceStep struct{ svc catalog.Service }

func (s virtualServiceStep) Name() string { return serviceKey(s.svc.Name, kindVirtualService) }
func (s virtualServiceStep) DependsOn() []string {
	return []string{serviceKey(s.svc.Name, kindVirtualNode)}
}
func (s virtualServiceStep) key() string { return s.Name() }

func (s virtualServiceStep) spec(e *Env) *meshtypes.VirtualServiceSpec {
	return &meshtypes.VirtualServiceSpec{Provider: &meshtypes.VirtualServiceProviderMemberVirtualNode{
		Value: meshtypes.VirtualNodeServiceProvider{VirtualNodeName: aws.String(e.Names.VirtualNode(s.svc.Name))},
	}}
}

// find reads the virtual service; it is proven through its mesh (ownership.go).
func (s virtualServiceStep) find(ctx context.Context, e *Env) (*meshtypes.VirtualServiceData, error) {
	name := e.Names.VirtualService(s.svc.Name)
	return describeInMesh(ctx, e, "virtual service "+name, func() (*meshtypes.VirtualServiceData, error) {
		out, err := e.AWS.AppMesh.DescribeVirtualService(ctx, &appmesh.DescribeVirtualServiceInput{MeshName: aws.String(e.Names.Mesh()), VirtualServiceName: aws.String(name)})
		if err != nil {
			return nil, err
		}
		return out.VirtualService, nil
	})
}

func (s virtualServiceStep) Claim(ctx context.Context, e *Env) error {
	_, err := s.find(ctx, e)
	return err
}

func (s virtualServiceStep) Up(ctx context.Context, e *Env) error {
	name := e.Names.VirtualService(s.svc.Name)
	vs, err := s.find(ctx, e)
	if err != nil {
		return err
	}
	var have *state.Resource
	drift := ""
	if vs != nil {
		have = &state.Resource{ID: name}
		if !providedByNode(vs.Spec, e.Names.VirtualNode(s.svc.Name)) {
			drift = "provider"
		}
	}
	return convergeNamed(e, s.key(), "virtual service "+name, have, func() (state.Resource, error) {
		if _, err := e.AWS.AppMesh.CreateVirtualService(ctx, &appmesh.CreateVirtualServiceInput{
			MeshName: aws.String(e.Names.Mesh()), VirtualServiceName: aws.String(name), Spec: s.spec(e), Tags: e.meshTags(name, s.svc.Name),
		}); err != nil {
			return state.Resource{}, fmt.Errorf("creating virtual service %s: %w", name, err)
		}
		return state.Resource{ID: name}, nil
	}, drift, func() error {
		if _, err := e.AWS.AppMesh.UpdateVirtualService(ctx, &appmesh.UpdateVirtualServiceInput{
			MeshName: aws.String(e.Names.Mesh()), VirtualServiceName: aws.String(name), Spec: s.spec(e),
		}); err != nil {
			return fmt.Errorf("updating virtual service %s: %w", name, err)
		}
		return nil
	})
}

// providedByNode reports whether the virtual service routes to the service's own node.
func providedByNode(spec *meshtypes.VirtualServiceSpec, node string) bool {
	if spec == nil {
		return false
	}
	provider, ok := spec.Provider.(*meshtypes.VirtualServiceProviderMemberVirtualNode)
	return ok && aws.ToString(provider.Value.VirtualNodeName) == node
}

func (s virtualServiceStep) Down(ctx context.Context, e *Env) error {
	vs, err := s.find(ctx, e)
	if err != nil {
		return err
	}
	name := e.Names.VirtualService(s.svc.Name)
	return deleteThenForget(e, s.key(), vs != nil, "virtual service "+name, name, func() error {
		_, err := e.AWS.AppMesh.DeleteVirtualService(ctx, &appmesh.DeleteVirtualServiceInput{MeshName: aws.String(e.Names.Mesh()), VirtualServiceName: aws.String(name)})
		return err
	})
}

func (s virtualServiceStep) Inspect(ctx context.Context, e *Env) []Status {
	vs, err := s.find(ctx, e)
	return []Status{{Resource: "virtual service " + e.Names.VirtualService(s.svc.Name), StateID: e.StateID(s.key()),
		AWS: engine.Observe(err, vs != nil, func() string { return "active" })}}
}
