package provision

import (
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/tapctl/tapctl/catalog"
)

// serviceCorrection is the UpdateService call that brings a service back to its spec (nil when
// nothing differs), what it changes, and whether it touches Service Connect (recorded then).
type serviceCorrection struct {
	in                    *ecs.UpdateServiceInput
	changed               []string
	serviceConnectChanged bool
}

// serviceUpdate compares the service as ECS describes it with its spec. The desired count
// belongs to auto scaling once the service exists; only a count outside the scaling range (set
// by hand, or left by a failed deployment) is drift: the service would not serve as the catalog
// says, and auto scaling only moves it back at its next alarm. recordedServiceConnect is the
// Service Connect fingerprint the state file holds; fresh is a service this run created.
func serviceUpdate(svc ecstypes.Service, sp ecsServiceSpec, want catalog.Service, container, recordedServiceConnect string, fresh bool) serviceCorrection {
	in := &ecs.UpdateServiceInput{Cluster: aws.String(sp.cluster), Service: aws.String(sp.name)}
	var c serviceCorrection
	if aws.ToString(svc.TaskDefinition) != sp.taskDefinition {
		in.TaskDefinition = aws.String(sp.taskDefinition)
		c.changed = append(c.changed, "task definition")
	}
	if !sameStrategy(svc.CapacityProviderStrategy, sp.capacityProviderStrategy()) {
		in.CapacityProviderStrategy = sp.capacityProviderStrategy()
		// Moving from a launch type to a capacity provider strategy needs a new deployment.
		in.ForceNewDeployment = !fresh
		c.changed = append(c.changed, "capacity provider strategy")
	}
	if !sp.deployment.matches(svc.DeploymentConfiguration) {
		in.DeploymentConfiguration = sp.deployment.configuration()
		c.changed = append(c.changed, "deployment configuration")
	}
	if !sameNetwork(svc.NetworkConfiguration, sp.networkConfiguration()) {
		in.NetworkConfiguration = sp.networkConfiguration()
		c.changed = append(c.changed, "network configuration")
	}
	lbs := sp.loadBalancers(want, container)
	if len(svc.LoadBalancers) != 1 || !sp.deployment.targetGroupsMatch(svc.LoadBalancers[0], sp.targetGroup) ||
		aws.ToString(svc.LoadBalancers[0].ContainerName) != aws.ToString(lbs[0].ContainerName) ||
		aws.ToInt32(svc.LoadBalancers[0].ContainerPort) != want.Port {
		in.LoadBalancers = lbs
		c.changed = append(c.changed, "load balancers")
	}
	if !sp.registriesMatch(svc.ServiceRegistries) {
		// An empty list removes a registration (UpdateService); nil would leave it as it is.
		in.ServiceRegistries = append([]ecstypes.ServiceRegistry{}, sp.serviceRegistries()...)
		c.changed = append(c.changed, "service registries")
	}
	if !svc.EnableExecuteCommand {
		in.EnableExecuteCommand = aws.Bool(true)
		c.changed = append(c.changed, "execute command")
	}
	if !serviceConnectMatches(reportedServiceConnect(&svc), recordedServiceConnect, sp.serviceConnect) {
		in.ServiceConnectConfiguration = sp.serviceConnect
		if sp.serviceConnect == nil {
			in.ServiceConnectConfiguration = &ecstypes.ServiceConnectConfiguration{Enabled: false}
		}
		c.serviceConnectChanged = true
		c.changed = append(c.changed, "service connect")
	}
	if count := min(max(svc.DesiredCount, want.MinCount), want.MaxCount); count != svc.DesiredCount {
		in.DesiredCount = aws.Int32(count)
		c.changed = append(c.changed, fmt.Sprintf("desired count %d -> %d (outside %d..%d)", svc.DesiredCount, count, want.MinCount, want.MaxCount))
	}
	if aws.ToInt32(svc.HealthCheckGracePeriodSeconds) != healthCheckGracePeriod {
		in.HealthCheckGracePeriodSeconds = aws.Int32(healthCheckGracePeriod)
		c.changed = append(c.changed, "health check grace period")
	}
	if len(c.changed) > 0 {
		c.in = in
	}
	return c
}

func sameStrategy(got, want []ecstypes.CapacityProviderStrategyItem) bool {
	return slices.EqualFunc(got, want, func(a, b ecstypes.CapacityProviderStrategyItem) bool {
		return aws.ToString(a.CapacityProvider) == aws.ToString(b.CapacityProvider) && a.Weight == b.Weight && a.Base == b.Base
	})
}

func sameNetwork(got, want *ecstypes.NetworkConfiguration) bool {
	if got == nil || got.AwsvpcConfiguration == nil {
		return false
	}
	g, w := got.AwsvpcConfiguration, want.AwsvpcConfiguration
	return sameSet(g.Subnets, w.Subnets) && sameSet(g.SecurityGroups, w.SecurityGroups) && g.AssignPublicIp == w.AssignPublicIp
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
