package provision

import (
	"fmt"
	"github.com/tapctl/tapctl/catalog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// DeployStrategy is how ECS replaces a service's tasks.
type DeployStrategy string

const (
	// BlueGreen is Amazon ECS's built-in blue/green: the new revision starts behind the
	// alternate target group, takes the production listener rule, bakes, and rolls back on the
	// circuit breaker or an alarm. It is the default, as the source design promises blue/green
	// deployments.
	BlueGreen DeployStrategy = "blue-green"
	// Rolling replaces tasks in place, guarded by the same circuit breaker and alarms.
	Rolling DeployStrategy = "rolling"
)

// DefaultBakeTime is how long blue/green bakes unless --bake-time says otherwise.
const DefaultBakeTime = 5 * time.Minute

// ParseDeployStrategy checks a --deploy-strategy value.
func ParseDeployStrategy(s string) (DeployStrategy, error) {
	switch d := DeployStrategy(s); d {
	case BlueGreen, Rolling:
		return d, nil
	}
	return "", fmt.Errorf("invalid --deploy-strategy %q: use blue-green (the default) or rolling", s)
}

// Choices are the environment-level options that shape the platform.
type Choices struct {
	Mesh     MeshMode
	Strategy DeployStrategy
	BakeTime time.Duration
	// Base, for an overlay environment, is the environment whose network, cluster and load
	// balancer it runs on (overlay.go); "" for an isolated one.
	Base string
	// Network is tapctl.yaml's network: section (an isolated environment's; an overlay runs on
	// its base's network and ignores it).
	Network catalog.Network
}

// DefaultChoices are what a new environment gets.
func DefaultChoices() Choices {
	return Choices{Mesh: MeshServiceConnect, Strategy: BlueGreen, BakeTime: DefaultBakeTime, Network: catalog.DefaultNetwork()}
}

// SPEC row 21: minimum healthy 0 %, maximum 200 %.
const (
	minimumHealthyPercent = 0
	maximumPercent        = 200
)

// deploymentSpec is a service's deployment configuration and the load balancer resources
// blue/green moves traffic with.
type deploymentSpec struct {
	strategy                DeployStrategy
	bakeMinutes             int32
	alarms                  []string
	alternateTargetGroup    string
	productionRule, roleARN string
}

func (s ecsServiceStep) deploymentSpec(e *Env) (deploymentSpec, error) {
	n := s.svc.Name
	d := deploymentSpec{strategy: s.choices.Strategy, bakeMinutes: int32(s.choices.BakeTime / time.Minute), alarms: AlarmNames(e, n)}
	if d.strategy != BlueGreen {
		return d, nil
	}
	// In run order (RequireAll).
	recorded, err := e.RequireAll(serviceKey(n, kindInfrastructureRole), serviceKey(n, kindAltTargetGroup), serviceKey(n, kindListenerRule))
	if err != nil {
		return d, err
	}
	d.roleARN, d.alternateTargetGroup, d.productionRule = recorded[0].ARN, recorded[1].ID, recorded[2].ID
	return d, nil
}

func (d deploymentSpec) configuration() *ecstypes.DeploymentConfiguration {
	c := &ecstypes.DeploymentConfiguration{
		MinimumHealthyPercent: aws.Int32(minimumHealthyPercent),
		MaximumPercent:        aws.Int32(maximumPercent),
		Alarms:                &ecstypes.DeploymentAlarms{AlarmNames: d.alarms, Enable: true, Rollback: true},
		// In both strategies (ECS developer guide, "Amazon ECS deployment failure detection"):
		// a revision whose tasks never start registers no targets, the alarms see only missing
		// data, and without the breaker nothing would roll it back.
		DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true},
	}
	if d.strategy == BlueGreen {
		c.Strategy = ecstypes.DeploymentStrategyBlueGreen
		c.BakeTimeInMinutes = aws.Int32(d.bakeMinutes)
	} else {
		c.Strategy = ecstypes.DeploymentStrategyRolling
	}
	return c
}

func (d deploymentSpec) advancedConfiguration() *ecstypes.AdvancedConfiguration {
	if d.strategy != BlueGreen {
		return nil
	}
	return &ecstypes.AdvancedConfiguration{
		AlternateTargetGroupArn: aws.String(d.alternateTargetGroup),
		ProductionListenerRule:  aws.String(d.productionRule),
		RoleArn:                 aws.String(d.roleARN),
	}
}

func (d deploymentSpec) matches(got *ecstypes.DeploymentConfiguration) bool {
	want := d.configuration()
	if got == nil || aws.ToInt32(got.MinimumHealthyPercent) != minimumHealthyPercent || aws.ToInt32(got.MaximumPercent) != maximumPercent {
		return false
	}
	if got.Alarms == nil || !got.Alarms.Enable || !got.Alarms.Rollback || !sameSet(got.Alarms.AlarmNames, d.alarms) {
		return false
	}
	strategy := got.Strategy
	if strategy == "" {
		strategy = ecstypes.DeploymentStrategyRolling // what ECS means when it reports none
	}
	if strategy != want.Strategy {
		return false
	}
	if b := got.DeploymentCircuitBreaker; b == nil || !b.Enable || !b.Rollback {
		return false
	}
	return d.strategy != BlueGreen || aws.ToInt32(got.BakeTimeInMinutes) == d.bakeMinutes
}

// targetGroupsMatch accepts the service's load balancer when it uses the service's two target
// groups either way round: after each blue/green deployment ECS has swapped them, and that is
// ECS's to own, not drift.
func (d deploymentSpec) targetGroupsMatch(lb ecstypes.LoadBalancer, primary string) bool {
	tg := aws.ToString(lb.TargetGroupArn)
	if d.strategy != BlueGreen {
		return tg == primary && lb.AdvancedConfiguration == nil
	}
	a := lb.AdvancedConfiguration
	if a == nil || aws.ToString(a.ProductionListenerRule) != d.productionRule || aws.ToString(a.RoleArn) != d.roleARN {
		return false
	}
	alt := aws.ToString(a.AlternateTargetGroupArn)
	return (tg == primary && alt == d.alternateTargetGroup) || (tg == d.alternateTargetGroup && alt == primary)
}
