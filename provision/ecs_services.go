package provision

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// ECS service settings of SPEC row 21 and its corrections.
const (
	spotBase   = 2
	spotWeight = 1
	// CDK's default when a load balancer is attached: tasks get a minute before health checks count.
	healthCheckGracePeriod = 60
)

type ecsServiceStep struct {
	svc     catalog.Service
	choices Choices
}

func (s ecsServiceStep) Name() string { return serviceKey(s.svc.Name, kindECSService) }
func (s ecsServiceStep) DependsOn() []string {
	n := s.svc.Name
	// The listener rule must exist first: ECS refuses a target group no load balancer uses.
	// The private route to the NAT gateway must exist for tasks to pull images.
	return []string{keyCluster, serviceKey(n, kindTaskDefinition), serviceKey(n, kindListenerRule), serviceKey(n, kindDiscoveryService),
		keyTaskSecurityGroup, "route-tables", serviceKey(n, kindAltTargetGroup), serviceKey(n, kindInfrastructureRole), serviceKey(n, kindAlarms)}
}
func (s ecsServiceStep) key() string { return s.Name() }

// DownDependsOn: the service's tasks use its roles and write to its log group until they stop,
// so those go only after the service, not after its task definition (taskDefinitionStep); and
// their interfaces hold the private subnets. The route tables (and the NAT gateway behind
// them), which tasks only need to pull images, go beside the service.
func (s ecsServiceStep) DownDependsOn() []string {
	n := s.svc.Name
	deps := slices.DeleteFunc(s.DependsOn(), func(d string) bool { return d == "route-tables" })
	return append(deps, "subnets", serviceKey(n, kindExecutionRole), serviceKey(n, kindTaskRole), serviceKey(n, kindLogGroup))
}

// ecsServiceSpec is what the service should be, gathered from the steps it depends on.
type ecsServiceSpec struct {
	cluster, name, taskDefinition, targetGroup, registry string
	subnets, securityGroups                              []string
	serviceConnect                                       *ecstypes.ServiceConnectConfiguration // nil unless Service Connect
	deployment                                           deploymentSpec
}

func (s ecsServiceStep) spec(e *Env) (ecsServiceSpec, error) {
	n := s.svc.Name
	sp := ecsServiceSpec{cluster: e.Names.Cluster(), name: e.Names.Service(n)}
	// In run order (RequireAll).
	recorded, err := e.RequireAll(serviceKey(n, kindTaskDefinition), serviceKey(n, kindTargetGroup), serviceKey(n, kindDiscoveryService))
	if err != nil {
		return sp, err
	}
	sp.taskDefinition, sp.targetGroup = recorded[0].ID, recorded[1].ID
	if registersDNS(s.choices) {
		sp.registry = recorded[2].ARN
	}
	sg, err := e.Require(keyTaskSecurityGroup)
	if err != nil {
		return sp, err
	}
	sp.securityGroups = []string{sg.ID}
	if sp.subnets, err = e.SubnetIDs(Private); err != nil {
		return sp, err
	}
	if sp.deployment, err = s.deploymentSpec(e); err != nil {
		return sp, err
	}
	if s.choices.Mesh == MeshServiceConnect {
		ns, err := e.Require(keyNamespace)
		if err != nil {
			return sp, err
		}
		sp.serviceConnect = serviceConnectConfig(e, s.svc, ns.ARN)
	}
	return sp, nil
}

func (sp ecsServiceSpec) capacityProviderStrategy() []ecstypes.CapacityProviderStrategyItem {
	return []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: spotWeight, Base: spotBase}}
}

func (sp ecsServiceSpec) networkConfiguration() *ecstypes.NetworkConfiguration {
	return &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
		Subnets: sp.subnets, SecurityGroups: sp.securityGroups, AssignPublicIp: ecstypes.AssignPublicIpDisabled,
	}}
}

func (sp ecsServiceSpec) loadBalancers(svc catalog.Service, container string) []ecstypes.LoadBalancer {
	return []ecstypes.LoadBalancer{{
		TargetGroupArn: aws.String(sp.targetGroup), ContainerName: aws.String(container), ContainerPort: aws.Int32(svc.Port),
		AdvancedConfiguration: sp.deployment.advancedConfiguration(),
	}}
}

// serviceRegistries is the service's Cloud Map DNS registration, nil where it has none
// (registersDNS).
func (sp ecsServiceSpec) serviceRegistries() []ecstypes.ServiceRegistry {
	if sp.registry == "" {
		return nil
	}
	return []ecstypes.ServiceRegistry{{RegistryArn: aws.String(sp.registry)}}
}

func (sp ecsServiceSpec) registriesMatch(got []ecstypes.ServiceRegistry) bool {
	if sp.registry == "" {
		return len(got) == 0
	}
	return len(got) == 1 && aws.ToString(got[0].RegistryArn) == sp.registry
}

func (s ecsServiceStep) find(ctx context.Context, e *Env) (*ecstypes.Service, error) {
	all, err := ecsServices(ctx, e)
	if err != nil {
		return nil, err
	}
	name := e.Names.Service(s.svc.Name)
	return engine.FindOwned(e.Run, engine.Lookup[ecstypes.Service]{
		Kind: "ECS service", Name: name, StateID: e.StateID(s.key()),
		ByID: func(arn string) (*ecstypes.Service, error) {
			for _, svc := range all {
				if aws.ToString(svc.ServiceArn) == arn {
					return &svc, nil
				}
			}
			return nil, nil
		},
		ByName: func() (*ecstypes.Service, error) {
			if svc, ok := all[name]; ok {
				return &svc, nil
			}
			return nil, nil
		},
		Tags: func(svc *ecstypes.Service) (map[string]string, error) { return ecsTagMap(svc.Tags), nil },
		ID:   func(svc *ecstypes.Service) string { return aws.ToString(svc.ServiceArn) },
	})
}

// OwnedService is the environment's ECS service of svc, proven by its tags; an error when the
// environment has none (deploy and rollback act on it).
func OwnedService(ctx context.Context, e *Env, svc catalog.Service) (*ecstypes.Service, error) {
	found, err := ecsServiceStep{svc: svc}.find(ctx, e)
	if err == nil && found == nil {
		err = fmt.Errorf("ECS service %s of environment %s does not exist; run tapctl up --env %s", e.Names.Service(svc.Name), e.Name, e.Name)
	}
	return found, err
}

// ProveTaskDefinition checks that a revision deploy or rollback acts on is the environment's.
func ProveTaskDefinition(e *Env, arn string, tags []ecstypes.Tag) error {
	if err := e.CheckStateARN("task definition", arn); err != nil {
		return err
	}
	return e.Prove("task definition", arn, ecsTagMap(tags), true)
}

func (s ecsServiceStep) Claim(ctx context.Context, e *Env) error {
	_, err := s.find(ctx, e)
	return err
}

// ecsServices reads every service of the environment, ten per call (DescribeServices' limit);
// inactive (deleted) services are left out.
func ecsServices(ctx context.Context, e *Env) (map[string]ecstypes.Service, error) {
	return engine.Discover(e.Run, "ecs-services", func() (map[string]ecstypes.Service, error) {
		var names []string
		for _, svc := range e.Catalog {
			names = append(names, e.Names.Service(svc.Name))
		}
		found := map[string]ecstypes.Service{}
		for _, batch := range chunks(names, 10) {
			out, err := e.AWS.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{
				Cluster: aws.String(e.Names.Cluster()), Services: batch, Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags},
			})
			if cloud.IsNotFound(err) {
				return found, nil // no cluster, so no services
			}
			if err != nil {
				return nil, fmt.Errorf("describing ECS services %v: %w", batch, err)
			}
			for _, svc := range out.Services {
				if aws.ToString(svc.Status) != "INACTIVE" {
					found[aws.ToString(svc.ServiceName)] = svc
				}
			}
		}
		return found, nil
	})
}

func (s ecsServiceStep) Up(ctx context.Context, e *Env) error {
	sp, err := s.spec(e)
	if err != nil {
		return err
	}
	svc, err := s.find(ctx, e)
	if err != nil {
		return err
	}
	if svc != nil && aws.ToString(svc.Status) == "DRAINING" {
		// A service being deleted keeps its name until it is INACTIVE.
		if err := s.waitInactive(ctx, e, aws.ToString(svc.ServiceArn)); err != nil {
			return err
		}
		svc = nil
	}
	if svc == nil {
		out, err := e.AWS.ECS.CreateService(ctx, &ecs.CreateServiceInput{
			ServiceName:                   aws.String(sp.name),
			Cluster:                       aws.String(sp.cluster),
			TaskDefinition:                aws.String(sp.taskDefinition),
			DesiredCount:                  aws.Int32(s.svc.Desired),
			CapacityProviderStrategy:      sp.capacityProviderStrategy(),
			DeploymentConfiguration:       sp.deployment.configuration(),
			NetworkConfiguration:          sp.networkConfiguration(),
			LoadBalancers:                 sp.loadBalancers(s.svc, e.Names.Container(s.svc.Name)),
			ServiceRegistries:             sp.serviceRegistries(),
			HealthCheckGracePeriodSeconds: aws.Int32(healthCheckGracePeriod),
			EnableExecuteCommand:          true,
			PropagateTags:                 ecstypes.PropagateTagsService,
			EnableECSManagedTags:          true,
			ServiceConnectConfiguration:   sp.serviceConnect,
			Tags:                          e.ecsTags(sp.name, s.svc.Name),
			ClientToken:                   aws.String(requestToken(e.Name, s.Name(), sp.taskDefinition, sp.targetGroup)),
		})
		if err != nil {
			return fmt.Errorf("creating ECS service %s in %s: %w", sp.name, sp.cluster, err)
		}
		svc = out.Service
		if err := s.record(e, svc, serviceConnectFingerprint(sp.serviceConnect)); err != nil {
			return err
		}
		e.Created("ECS service "+sp.name, aws.ToString(svc.ServiceArn))
		// Read back what the create answer holds: a field AWS (or an emulator) did not take is
		// corrected now, so the next run finds nothing to change.
		return s.correct(ctx, e, sp, svc, true)
	}
	recorded, _ := e.State.Get(s.key())
	if err := s.record(e, svc, recorded.Attrs[attrServiceConnect]); err != nil {
		return err
	}
	return s.correct(ctx, e, sp, svc, false)
}

// correct updates the service where it differs from the spec (serviceUpdate).
func (s ecsServiceStep) correct(ctx context.Context, e *Env, sp ecsServiceSpec, svc *ecstypes.Service, fresh bool) error {
	recorded, _ := e.State.Get(s.key())
	update := serviceUpdate(*svc, sp, s.svc, e.Names.Container(s.svc.Name), recorded.Attrs[attrServiceConnect], fresh)
	id := aws.ToString(svc.ServiceArn)
	if update.in == nil {
		if !fresh {
			e.Unchanged("ECS service "+sp.name, id)
		}
		return nil
	}
	if _, err := e.AWS.ECS.UpdateService(ctx, update.in); err != nil {
		return fmt.Errorf("updating ECS service %s (%v): %w", sp.name, update.changed, err)
	}
	if update.serviceConnectChanged {
		if err := s.record(e, svc, serviceConnectFingerprint(sp.serviceConnect)); err != nil {
			return err
		}
	}
	e.Updated("ECS service "+sp.name, id, fmt.Sprint(update.changed))
	return nil
}

func (s ecsServiceStep) waitInactive(ctx context.Context, e *Env, arn string) error {
	e.Log.Info().Str("id", arn).Msg("waiting for ECS service to drain")
	w := ecs.NewServicesInactiveWaiter(e.AWS.ECS, func(o *ecs.ServicesInactiveWaiterOptions) {
		o.MinDelay, o.MaxDelay = pollMinDelay, pollMaxDelay
	})
	err := w.Wait(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(e.Names.Cluster()), Services: []string{arn}}, e.Timeouts.ServiceInactive)
	if err != nil {
		return fmt.Errorf("waiting for ECS service %s to become inactive: %w", arn, err)
	}
	return nil
}

func (s ecsServiceStep) Down(ctx context.Context, e *Env) error {
	svc, err := s.find(ctx, e)
	if err != nil {
		return err
	}
	if svc != nil {
		arn, name := aws.ToString(svc.ServiceArn), aws.ToString(svc.ServiceName)
		if aws.ToString(svc.Status) == "ACTIVE" {
			// Force: one call instead of scaling to 0 first; ECS stops the tasks either way.
			if _, err := e.AWS.ECS.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(e.Names.Cluster()), Service: aws.String(name), Force: aws.Bool(true)}); err != nil && !cloud.IsNotFound(err) {
				return fmt.Errorf("deleting ECS service %s: %w", name, err)
			}
		}
		if err := s.waitInactive(ctx, e, arn); err != nil {
			return err
		}
		e.Deleted("ECS service "+name, arn)
	}
	return e.Forget(s.key())
}

func (s ecsServiceStep) Inspect(ctx context.Context, e *Env) []Status {
	svc, err := s.find(ctx, e)
	return []Status{{Resource: "ECS service " + e.Names.Service(s.svc.Name), StateID: e.StateID(s.key()),
		AWS: engine.Observe(err, svc != nil, func() string { return s.describe(ctx, e, svc) })}}
}

// describe is the service as status shows it: counts, the active revision and its image, and
// how the last deployment ended.
func (s ecsServiceStep) describe(ctx context.Context, e *Env, svc *ecstypes.Service) string {
	arn := aws.ToString(svc.TaskDefinition)
	revision, image := arn[strings.LastIndex(arn, "/")+1:], "?"
	if td, err := e.AWS.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err == nil {
		for _, c := range td.TaskDefinition.ContainerDefinitions {
			if aws.ToString(c.Name) == e.Names.Container(s.svc.Name) {
				image = aws.ToString(c.Image)
			}
		}
	}
	last := "none"
	for _, d := range svc.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			last = string(d.RolloutState)
			if r := aws.ToString(d.RolloutStateReason); d.RolloutState == ecstypes.DeploymentRolloutStateFailed && r != "" {
				last += " (" + r + ")"
			}
		}
	}
	return fmt.Sprintf("%s, %d/%d running, %d pending, revision %s (%s), last deployment %s",
		aws.ToString(svc.Status), svc.RunningCount, svc.DesiredCount, svc.PendingCount, revision, image, last)
}

// record keeps the service's ARN, name and the Service Connect configuration last applied.
func (s ecsServiceStep) record(e *Env, svc *ecstypes.Service, serviceConnect string) error {
	attrs := map[string]string{attrName: aws.ToString(svc.ServiceName)}
	if serviceConnect != "" {
		attrs[attrServiceConnect] = serviceConnect
	}
	return e.Record(s.key(), state.Resource{ID: aws.ToString(svc.ServiceArn), Attrs: attrs})
}
