package scenarios

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	meshtypes "github.com/aws/aws-sdk-go-v2/service/appmesh/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/localstack"
	"github.com/tapctl/tapctl/naming"
	"github.com/tapctl/tapctl/state"
)

// Service Connect, the default: the cluster's default namespace and the task definitions' named
// ports are echoed by moto; the services' Service Connect configuration is dropped by moto, so
// the serialized CreateService requests are asserted instead.
func TestServiceConnectModeAndItsRequestShape(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	ctx, c, n := context.Background(), clients(t), naming.Names{Env: env}
	created := newCapture("ECS", "CreateService")
	tapctlWith(t, dir, []func(*middleware.Stack) error{created.middleware}, "up", "--env", env).mustSucceed(t)
	ns := stateResource(t, dir, env, "namespace")

	cl, err := c.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{n.Cluster()}})
	must(t, err)
	if d := cl.Clusters[0].ServiceConnectDefaults; d == nil || aws.ToString(d.Namespace) != ns.ARN {
		t.Errorf("cluster Service Connect defaults = %+v, want namespace %s", d, ns.ARN)
	}
	for _, svc := range catalog.Default() {
		td, err := c.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(n.TaskFamily(svc.Name))})
		must(t, err)
		pm := td.TaskDefinition.ContainerDefinitions[0].PortMappings[0]
		if aws.ToString(pm.Name) != svc.Name+"-http" || pm.AppProtocol != ecstypes.ApplicationProtocolHttp {
			t.Errorf("%s port mapping name %q app protocol %q", svc.Name, aws.ToString(pm.Name), pm.AppProtocol)
		}
	}
	bodies := created.jsonBodies(t)
	if len(bodies) != 3 {
		t.Fatalf("captured %d CreateService calls", len(bodies))
	}
	for _, b := range bodies {
		raw, _ := json.Marshal(b["serviceConnectConfiguration"])
		var sc struct {
			Enabled   bool
			Namespace string
			Services  []struct {
				PortName, DiscoveryName string
				ClientAliases           []struct {
					Port    int
					DnsName string
				}
			}
			LogConfiguration struct {
				LogDriver string
				Options   map[string]string
			}
		}
		must(t, json.Unmarshal(raw, &sc))
		svc := strings.TrimSuffix(b["serviceName"].(string), "-service-"+env)
		if !sc.Enabled || sc.Namespace != ns.ARN || len(sc.Services) != 1 || sc.Services[0].PortName != svc+"-http" ||
			len(sc.Services[0].ClientAliases) != 1 || sc.Services[0].ClientAliases[0].DnsName != svc || sc.Services[0].ClientAliases[0].Port != 80 {
			t.Errorf("%s serviceConnectConfiguration = %s", svc, raw)
		}
		if sc.LogConfiguration.LogDriver != "awslogs" || sc.LogConfiguration.Options["awslogs-group"] != n.LogGroup(svc) {
			t.Errorf("%s Service Connect logs = %+v", svc, sc.LogConfiguration)
		}
	}
	st, err := state.Open(dir, env)
	must(t, err)
	if st.Setting("mesh") != "service-connect" {
		t.Errorf("mesh setting = %q", st.Setting("mesh"))
	}
	second := tapctl(t, dir, "up", "--env", env).mustSucceed(t)
	if m := second.Calls.Mutating(); len(m) != 0 {
		t.Errorf("second up made %v", m)
	}
}

// assertAppMesh checks SPEC row 10 through the proxy (moto for the mesh and nodes, the proxy's
// own handler for the virtual services).
func assertAppMesh(t *testing.T, p *localstack.Proxy, env string) {
	t.Helper()
	ctx, c, n := context.Background(), clientsAt(t, p.URL), naming.Names{Env: env}
	mesh, err := c.AppMesh.DescribeMesh(ctx, &appmesh.DescribeMeshInput{MeshName: aws.String(n.Mesh())})
	must(t, err)
	if mesh.Mesh.Spec.EgressFilter == nil || mesh.Mesh.Spec.EgressFilter.Type != meshtypes.EgressFilterTypeAllowAll {
		t.Errorf("mesh egress = %+v", mesh.Mesh.Spec.EgressFilter)
	}
	for _, svc := range catalog.Default() {
		node, err := c.AppMesh.DescribeVirtualNode(ctx, &appmesh.DescribeVirtualNodeInput{MeshName: aws.String(n.Mesh()), VirtualNodeName: aws.String(n.VirtualNode(svc.Name))})
		must(t, err)
		l := node.VirtualNode.Spec.Listeners[0]
		hc := l.HealthCheck
		dns, _ := node.VirtualNode.Spec.ServiceDiscovery.(*meshtypes.ServiceDiscoveryMemberDns)
		if aws.ToInt32(l.PortMapping.Port) != 80 || l.PortMapping.Protocol != "http" || hc == nil || aws.ToString(hc.Path) != "/" ||
			aws.ToInt64(hc.IntervalMillis) != 30000 || aws.ToInt64(hc.TimeoutMillis) != 5000 || aws.ToInt32(hc.HealthyThreshold) != 2 ||
			aws.ToInt32(hc.UnhealthyThreshold) != 3 || dns == nil || aws.ToString(dns.Value.Hostname) != svc.Name+"."+env+".local" {
			t.Errorf("virtual node %s = %+v", svc.Name, node.VirtualNode.Spec)
		}
		vs, err := c.AppMesh.DescribeVirtualService(ctx, &appmesh.DescribeVirtualServiceInput{MeshName: aws.String(n.Mesh()), VirtualServiceName: aws.String(svc.Name + ".local")})
		must(t, err)
		provider, _ := vs.VirtualService.Spec.Provider.(*meshtypes.VirtualServiceProviderMemberVirtualNode)
		if provider == nil || aws.ToString(provider.Value.VirtualNodeName) != n.VirtualNode(svc.Name) {
			t.Errorf("virtual service %s.local provider = %+v", svc.Name, vs.VirtualService.Spec.Provider)
		}
	}
}

func meshGone(t *testing.T, p *localstack.Proxy, env string) bool {
	t.Helper()
	n := naming.Names{Env: env}
	_, err := clientsAt(t, p.URL).AppMesh.DescribeMesh(context.Background(), &appmesh.DescribeMeshInput{MeshName: aws.String(n.Mesh())})
	return err != nil && strings.Contains(err.Error(), "NotFound") && len(p.VirtualServiceNames(n.Mesh())) == 0
}

func TestAppMeshModeUpSecondUpAndDown(t *testing.T) {
	p := startProxy(t)
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	created := newCapture("ECS", "CreateService")
	up := tapctlAt(t, p.URL, dir, []func(*middleware.Stack) error{created.middleware}, "up", "--env", env, "--mesh", "appmesh").mustSucceed(t)
	assertAppMesh(t, p, env)
	if !strings.Contains(up.Stdout, "MeshName") || !strings.Contains(up.Stdout, "microservices-mesh-"+env) {
		t.Errorf("outputs lack MeshName:\n%s", up.Stdout)
	}
	for _, b := range created.jsonBodies(t) {
		if _, has := b["serviceConnectConfiguration"]; has {
			t.Errorf("App Mesh mode sent a Service Connect configuration for %v", b["serviceName"])
		}
		if regs, _ := b["serviceRegistries"].([]any); len(regs) != 1 {
			t.Errorf("%v is not registered in Cloud Map: %v", b["serviceName"], b["serviceRegistries"])
		}
	}
	// Without --mesh, the environment keeps its choice.
	second := tapctlAt(t, p.URL, dir, nil, "up", "--env", env).mustSucceed(t)
	if m := second.Calls.Mutating(); len(m) != 0 {
		t.Errorf("second up made %v", m)
	}
	tapctlAt(t, p.URL, dir, nil, "down", "--yes", "--env", env).mustSucceed(t)
	if !meshGone(t, p, env) {
		t.Error("down left App Mesh resources")
	}
	if left := leftovers(t, env); len(left) != 0 {
		t.Errorf("down left %v", left)
	}
}

func TestAppMeshUnavailableStopsBeforeCreatingAnything(t *testing.T) {
	p := startProxy(t)
	p.AppMeshDiscontinued.Store(true)
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	r := tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--mesh", "appmesh")
	msg := strings.TrimSpace(r.Stderr)
	if r.Code == 0 || strings.Contains(msg, "\n") || !strings.Contains(msg, "AWS ended support for App Mesh") || !strings.Contains(msg, "--mesh service-connect") {
		t.Errorf("exit %d, stderr %q", r.Code, msg)
	}
	if m := r.Calls.Mutating(); len(m) != 0 {
		t.Errorf("made %v before stopping", m)
	}
	if n := readNetwork(t, env); n.count() != 0 {
		t.Errorf("created %d network resources", n.count())
	}
}

func TestMeshNoneIsRemembered(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	tapctl(t, dir, "up", "--env", env, "--mesh", "none", "--no-wait").mustSucceed(t)
	again := tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)
	if m := again.Calls.Mutating(); len(m) != 0 {
		t.Errorf("up without --mesh changed the none environment: %v", m)
	}
	st, err := state.Open(dir, env)
	must(t, err)
	if st.Setting("mesh") != "none" {
		t.Errorf("mesh setting = %q", st.Setting("mesh"))
	}
	assertRefused(t, tapctl(t, dir, "up", "--env", env, "--mesh", "istio"), "invalid --mesh")
}

// appmesh -> service-connect: Service Connect on every service first, then App Mesh removed, and
// no ECS service or load balancer deleted or recreated.
func TestMigrationFromAppMeshToServiceConnect(t *testing.T) {
	p := startProxy(t)
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--mesh", "appmesh").mustSucceed(t)
	albBefore := stateResource(t, dir, env, "alb").ID
	servicesBefore := map[string]string{}
	for _, svc := range describeServices(t, env) {
		servicesBefore[aws.ToString(svc.ServiceName)] = aws.ToString(svc.ServiceArn)
	}

	order := &callOrder{}
	updates := newCapture("ECS", "UpdateService")
	tapctlAt(t, p.URL, dir, []func(*middleware.Stack) error{order.middleware, updates.middleware}, "up", "--env", env, "--mesh", "service-connect").mustSucceed(t)

	calls := order.list()
	lastUpdate, firstMeshDelete := -1, len(calls)
	for i, call := range calls {
		switch {
		case call == "ECS.UpdateService":
			lastUpdate = i
		case strings.HasPrefix(call, "App Mesh.Delete") && i < firstMeshDelete:
			firstMeshDelete = i
		case strings.Contains(call, "DeleteService") || strings.Contains(call, "CreateService") || strings.Contains(call, "LoadBalancer") && !strings.Contains(call, "Describe"):
			t.Errorf("migration called %s", call)
		}
	}
	if lastUpdate < 0 || firstMeshDelete == len(calls) || lastUpdate > firstMeshDelete {
		t.Errorf("want every UpdateService before the first App Mesh delete; calls: %v", calls)
	}
	withSC := 0
	for _, b := range updates.jsonBodies(t) {
		if sc, ok := b["serviceConnectConfiguration"].(map[string]any); ok && sc["enabled"] == true {
			withSC++
		}
	}
	if withSC != 3 {
		t.Errorf("%d UpdateService calls carried Service Connect, want 3", withSC)
	}
	if !meshGone(t, p, env) {
		t.Error("App Mesh resources remain after the migration")
	}
	if stateResource(t, dir, env, "alb").ID != albBefore {
		t.Error("the load balancer changed")
	}
	for _, svc := range describeServices(t, env) {
		if servicesBefore[aws.ToString(svc.ServiceName)] != aws.ToString(svc.ServiceArn) {
			t.Errorf("service %s was recreated", aws.ToString(svc.ServiceName))
		}
	}
	again := tapctlAt(t, p.URL, dir, nil, "up", "--env", env).mustSucceed(t)
	if m := again.Calls.Mutating(); len(m) != 0 {
		t.Errorf("up after the migration made %v", m)
	}
	if strings.Contains(again.Stdout, "MeshName") {
		t.Error("MeshName still printed after the migration")
	}
}
