package provision

import (
	"context"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/engine"
)

// Platform lists every step of the platform for a catalog and the environment's choices. Order
// here is only the tie-break: the engine derives the run order from each step's dependencies.
func Platform(services []catalog.Service, choices Choices) []Step {
	n := choices.Network
	steps := []Step{
		vpcStep{},
		subnetsStep{},
		internetGatewayStep{},
		routeTablesStep{natGateways: n.NATGateways},
		securityGroupStep{kind: "endpoint", wanted: len(n.InterfaceEndpoints) > 0},
		networkRetireStep{network: n},
	}
	for az := range AZCount {
		steps = append(steps, natGatewayStep{az: az, wanted: natWanted(n, az)})
	}
	steps = append(steps, endpointSteps(n)...)
	steps = append(steps,
		secretStep{},
		logKeyStep{},
		clusterStep{mesh: choices.Mesh},
		namespaceStep{},
		securityGroupStep{kind: "alb"},
		securityGroupStep{kind: "task"},
		albStep{},
		listenerStep{},
	)
	if choices.Base != "" {
		// An overlay borrows its base's network, cluster and load balancer (overlay.go).
		steps = nil
		for _, b := range borrowedKinds() {
			steps = append(steps, borrowedStep{b})
		}
		steps = append(steps, secretStep{}, logKeyStep{}, namespaceStep{}, securityGroupStep{kind: "task"}, overlayListenerStep{})
	}
	for _, svc := range services {
		steps = append(steps,
			ecrRepositoryStep{svc},
			logGroupStep{svc},
			roleStep{svc: svc, kind: kindExecutionRole},
			roleStep{svc: svc, kind: kindTaskRole},
			roleStep{svc: svc, kind: kindInfrastructureRole},
			taskDefinitionStep{svc},
			targetGroupStep{svc: svc},
			targetGroupStep{svc: svc, alternate: true},
			listenerRuleStep{svc: svc, strategy: choices.Strategy},
			alarmsStep{svc},
			discoveryServiceStep{svc},
			ecsServiceStep{svc: svc, choices: choices},
			autoScalingStep{svc},
		)
	}
	if choices.Mesh == MeshAppMesh {
		steps = append(steps, meshStep{})
		for _, svc := range services {
			steps = append(steps, virtualNodeStep{svc}, virtualServiceStep{svc})
		}
	} else {
		steps = append(steps, retiredMeshStep{services: services})
	}
	return append(steps, dashboardStep{}, servingStep{services: services})
}

// Plan works out what up would do (engine.Plan), with read calls only. The resources of
// removed services are deletes, listed first, as up deletes them first. A VPC or Elastic IP
// beyond the region's quota is up's refusal (CheckHeadroom), returned as the plan's error.
func Plan(ctx context.Context, e *Env, steps []Step, removed []catalog.Service, choices Choices, parallelism int) ([]engine.Change, error) {
	return engine.Plan(ctx, e, steps, func(ctx context.Context, scratch *Env) ([]engine.Change, error) {
		// As up, after the claims and before anything else: a VPC or an Elastic IP that would
		// not fit in the region's quota stops the plan with up's refusal. The scratch run's
		// reads, with the command's log (the quota's source is a debug line).
		r := *scratch.Run
		r.Log = e.Log
		if err := CheckHeadroom(ctx, scratch.WithRun(&r), steps); err != nil {
			return nil, err
		}
		return engine.PlanDeletes(ctx, scratch.ForServices(removed), ServiceSteps(removed, choices))
	}, parallelism)
}
