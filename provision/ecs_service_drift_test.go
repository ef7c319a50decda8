package provision

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/tapctl/tapctl/catalog"
)

// A spec of the payment service in Service Connect mode, blue/green, and the service as ECS
// describes it once it matches.
func convergedECSService(t *testing.T) (ecsServiceSpec, catalog.Service, ecstypes.Service) {
	t.Helper()
	e := NewEnv("pr1")
	e.Region = "us-east-1"
	svc := catalog.WithDefaults("payment", 10)
	sp := ecsServiceSpec{
		cluster: "microservices-cluster-pr1", name: "payment-service-pr1",
		taskDefinition: "arn:aws:ecs:us-east-1:123456789012:task-definition/payment-pr1:3",
		targetGroup:    "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/payment-tg-pr1/1",
		registry:       "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-1",
		subnets:        []string{"subnet-a", "subnet-b"}, securityGroups: []string{"sg-task"},
		serviceConnect: serviceConnectConfig(e, svc, "arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-1"),
		deployment: deploymentSpec{
			strategy: BlueGreen, bakeMinutes: 5, alarms: []string{"payment-5xx-pr1", "payment-unhealthy-pr1"},
			alternateTargetGroup: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/payment-tg2-pr1/2",
			productionRule:       "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/lb/1/2/3",
			roleARN:              "arn:aws:iam::123456789012:role/payment-infrastructure-role-pr1",
		},
	}
	got := ecstypes.Service{
		ServiceArn:     aws.String("arn:aws:ecs:us-east-1:123456789012:service/microservices-cluster-pr1/payment-service-pr1"),
		TaskDefinition: aws.String(sp.taskDefinition), CapacityProviderStrategy: sp.capacityProviderStrategy(),
		DeploymentConfiguration: sp.deployment.configuration(),
		// ECS reports the subnets in its own order.
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: []string{"subnet-b", "subnet-a"}, SecurityGroups: []string{"sg-task"}, AssignPublicIp: ecstypes.AssignPublicIpDisabled,
		}},
		LoadBalancers:        sp.loadBalancers(svc, "payment-container"),
		ServiceRegistries:    sp.serviceRegistries(),
		EnableExecuteCommand: true,
		Deployments:          []ecstypes.Deployment{{Status: aws.String("PRIMARY"), ServiceConnectConfiguration: sp.serviceConnect}},
		DesiredCount:         svc.Desired, HealthCheckGracePeriodSeconds: aws.Int32(healthCheckGracePeriod),
	}
	return sp, svc, got
}

func TestServiceUpdate(t *testing.T) {
	cases := []struct {
		name  string
		drift func(sp *ecsServiceSpec, svc *ecstypes.Service)
		fresh bool
		want  []string // what the update changes; none: no call
	}{
		{name: "as the spec wants", drift: func(*ecsServiceSpec, *ecstypes.Service) {}},
		{name: "a count auto scaling set inside min..max is left alone", drift: func(_ *ecsServiceSpec, s *ecstypes.Service) { s.DesiredCount = 7 }},
		{name: "a count below min", drift: func(_ *ecsServiceSpec, s *ecstypes.Service) { s.DesiredCount = 0 },
			want: []string{"desired count 0 -> 2 (outside 2..10)"}},
		{name: "a count above max", drift: func(_ *ecsServiceSpec, s *ecstypes.Service) { s.DesiredCount = 12 },
			want: []string{"desired count 12 -> 10 (outside 2..10)"}},
		{name: "another task definition", drift: func(_ *ecsServiceSpec, s *ecstypes.Service) { s.TaskDefinition = aws.String("payment-pr1:2") },
			want: []string{"task definition"}},
		{name: "a launch type instead of Fargate Spot", drift: func(_ *ecsServiceSpec, s *ecstypes.Service) { s.CapacityProviderStrategy = nil },
			want: []string{"capacity provider strategy"}},
		{name: "spot base changed", drift: func(_ *ecsServiceSpec, s *ecstypes.Service) {
			s.CapacityProviderStrategy = []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 1}}
		}, want: []string{"capacity provider strategy"}},
		{name: "alarm rollback off", drift: func(_ *ecsServiceSpec, s *ecstypes.Service) { s.DeploymentConfiguration.Alarms.Rollback = false },
			want: []string{"deployment configuration"}},
		{name: "bake time changed", drift: func(sp *ecsServiceSpec, _ *ecstypes.Service) { sp.deployment.bakeMinutes = 10 },
			want: []string{"deployment configuration"}},
		{name: "circuit breaker off", drift: func(_ *ecsServiceSpec, s *ecstypes.Service) { s.DeploymentConfiguration.DeploymentCircuitBreaker = nil },
			want: []string{"deployment configuration"}},
		{name: "blue/green swapped the target groups: ECS's, not drift", drift: func(sp *ecsServiceSpec, s *ecstypes.Service) {
			lb := &s.LoadBalancers[0]
			lb.TargetGroupArn = aws.String(sp.deployment.alternateTargetGroup)
			lb.AdvancedConfiguration = &ecstypes.AdvancedConfiguration{AlternateTargetGroupArn: aws.String(sp.targetGroup),
				ProductionListenerRule: aws.String(sp.deployment.productionRule), RoleArn: aws.String(sp.deployment.roleARN)}
		}},
		{name: "a public IP", drift: func(_ *ecsServiceSpec, s *ecstypes.Service) {
			s.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp = ecstypes.AssignPublicIpEnabled
		}, want: []string{"network configuration"}},
		{name: "another container port", drift: func(_ *ecsServiceSpec, s *ecstypes.Service) { s.LoadBalancers[0].ContainerPort = aws.Int32(8080) },
			want: []string{"load balancers"}},
		{name: "registration removed by hand", drift: func(_ *ecsServiceSpec, s *ecstypes.Service) { s.ServiceRegistries = nil },
			want: []string{"service registries"}},
		{name: "ECS Exec off", drift: func(_ *ecsServiceSpec, s *ecstypes.Service) { s.EnableExecuteCommand = false },
			want: []string{"execute command"}},
		{name: "Service Connect off", drift: func(_ *ecsServiceSpec, s *ecstypes.Service) {
			s.Deployments[0].ServiceConnectConfiguration = &ecstypes.ServiceConnectConfiguration{Enabled: false}
		}, want: []string{"service connect"}},
		{name: "health check grace period", drift: func(_ *ecsServiceSpec, s *ecstypes.Service) { s.HealthCheckGracePeriodSeconds = nil },
			want: []string{"health check grace period"}},
		{name: "several at once, in call order", drift: func(_ *ecsServiceSpec, s *ecstypes.Service) {
			s.DesiredCount, s.EnableExecuteCommand, s.TaskDefinition = 1, false, nil
		}, want: []string{"task definition", "execute command", "desired count 1 -> 2 (outside 2..10)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sp, svc, got := convergedECSService(t)
			c.drift(&sp, &got)
			update := serviceUpdate(got, sp, svc, "payment-container", "", c.fresh)
			if !slices.Equal(update.changed, c.want) {
				t.Fatalf("changed = %q, want %q", update.changed, c.want)
			}
			if (update.in != nil) != (len(c.want) > 0) {
				t.Fatalf("update call = %+v, want one: %v", update.in, len(c.want) > 0)
			}
			if update.serviceConnectChanged != slices.Contains(c.want, "service connect") {
				t.Errorf("serviceConnectChanged = %v", update.serviceConnectChanged)
			}
		})
	}
}

// Fargate Spot on an existing service needs a new deployment; a service just made has none yet.
func TestServiceUpdateForcesADeploymentOnlyForAnExistingService(t *testing.T) {
	for _, fresh := range []bool{false, true} {
		sp, svc, got := convergedECSService(t)
		got.CapacityProviderStrategy = nil
		update := serviceUpdate(got, sp, svc, "payment-container", "", fresh)
		if update.in == nil || update.in.ForceNewDeployment == fresh {
			t.Errorf("fresh %v: ForceNewDeployment = %+v, want %v", fresh, update.in, !fresh)
		}
		if update.in != nil && aws.ToInt32(update.in.DesiredCount) != 0 {
			t.Errorf("fresh %v: the update sets a desired count", fresh)
		}
	}
}

// Where ECS reports no Service Connect configuration, the state file's record of the last one
// applied decides.
func TestServiceUpdateFallsBackToTheRecordedServiceConnect(t *testing.T) {
	sp, svc, got := convergedECSService(t)
	got.Deployments = nil
	if u := serviceUpdate(got, sp, svc, "payment-container", serviceConnectFingerprint(sp.serviceConnect), false); u.in != nil {
		t.Errorf("recorded as applied: update %v", u.changed)
	}
	if u := serviceUpdate(got, sp, svc, "payment-container", "", false); !u.serviceConnectChanged {
		t.Errorf("nothing recorded: changed %v, want service connect", u.changed)
	}
}
