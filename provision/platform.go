package provision

import "github.com/tapctl/tapctl/catalog"

// Platform lists every step of the platform for a catalog. Order here is only the tie-break:
// the engine derives the run order from each step's dependencies.
func Platform(services []catalog.Service, mesh MeshMode) []Step {
	steps := []Step{
		vpcStep{},
		subnetsStep{},
		internetGatewayStep{},
		natGatewayStep{},
		routeTablesStep{},
		secretStep{},
		logKeyStep{},
		clusterStep{mesh: mesh},
		namespaceStep{},
		securityGroupStep{kind: "alb"},
		securityGroupStep{kind: "task"},
		albStep{},
		listenerStep{},
	}
	for _, svc := range services {
		steps = append(steps,
			ecrRepositoryStep{svc},
			logGroupStep{svc},
			roleStep{svc: svc, kind: "execution-role"},
			roleStep{svc: svc, kind: "task-role"},
			taskDefinitionStep{svc},
			targetGroupStep{svc},
			listenerRuleStep{svc},
			discoveryServiceStep{svc},
			ecsServiceStep{svc: svc, mesh: mesh},
			autoScalingStep{svc},
		)
	}
	if mesh == MeshAppMesh {
		steps = append(steps, meshStep{})
		for _, svc := range services {
			steps = append(steps, virtualNodeStep{svc}, virtualServiceStep{svc})
		}
	} else {
		steps = append(steps, retiredMeshStep{services: services})
	}
	return append(steps, dashboardStep{}, servicesStableStep{services: services})
}
