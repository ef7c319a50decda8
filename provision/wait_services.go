package provision

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/tapctl/tapctl/catalog"
)

// servicesStableStep makes up return when the platform serves, as a CDK deploy does: every ECS
// service runs its desired count, bounded by --timeout, skipped with --no-wait. It owns no resource.
type servicesStableStep struct{ services []catalog.Service }

func (servicesStableStep) Name() string { return "services-stable" }
func (s servicesStableStep) DependsOn() []string {
	var deps []string
	for _, svc := range s.services {
		deps = append(deps, serviceKey(svc.Name, kindECSService), serviceKey(svc.Name, kindScaling))
	}
	return deps
}

func (s servicesStableStep) Up(ctx context.Context, e *Env) error {
	if !e.Wait || len(s.services) == 0 {
		return nil
	}
	if !e.Summary().Changed("ECS service ") && s.allStable(ctx, e) {
		return nil // nothing changed this run and every service already ran its count
	}
	var names []string
	for _, svc := range s.services {
		names = append(names, e.Names.Service(svc.Name))
	}
	e.Log.Info().Strs("services", names).Dur("timeout", e.Timeouts.ServicesStable).Msg("waiting for the ECS services to run their desired count")
	start := time.Now()
	w := ecs.NewServicesStableWaiter(e.AWS.ECS, func(o *ecs.ServicesStableWaiterOptions) {
		o.MinDelay, o.MaxDelay = pollMinDelay, pollMaxDelay
	})
	// DescribeServices takes at most 10 services per call.
	for i := 0; i < len(names); i += 10 {
		batch := names[i:min(i+10, len(names))]
		err := w.Wait(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(e.Names.Cluster()), Services: batch}, e.Timeouts.ServicesStable-time.Since(start))
		if err != nil {
			return fmt.Errorf("waiting for ECS services %v to become stable (raise --timeout, or use --no-wait): %w", batch, err)
		}
	}
	e.Log.Info().Str("elapsed", time.Since(start).Round(time.Millisecond).String()).Msg("ECS services are stable")
	return nil
}

// allStable looks at the services as this run found them, without a new call.
func (s servicesStableStep) allStable(ctx context.Context, e *Env) bool {
	all, err := ecsServices(ctx, e)
	if err != nil {
		return false
	}
	for _, svc := range s.services {
		found, ok := all[e.Names.Service(svc.Name)]
		if !ok || len(found.Deployments) != 1 || found.RunningCount != found.DesiredCount ||
			found.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateInProgress {
			return false
		}
	}
	return true
}

func (servicesStableStep) Claim(context.Context, *Env) error      { return nil }
func (servicesStableStep) Down(context.Context, *Env) error       { return nil }
func (servicesStableStep) Inspect(context.Context, *Env) []Status { return nil }
