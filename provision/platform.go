package provision

import "github.com/tapctl/tapctl/catalog"

// Platform lists every step of the platform for a catalog. Order here is only the tie-break:
// the engine derives the run order from each step's dependencies.
func Platform(services []catalog.Service) []Step {
	return []Step{
		vpcStep{},
		subnetsStep{},
		internetGatewayStep{},
		natGatewayStep{},
		routeTablesStep{},
	}
}
