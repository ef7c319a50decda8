package provision

import (
	"context"
	"slices"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/engine"
)

// networkRetireStep removes what the network no longer wants, once nothing uses it: the NAT
// gateways of the AZs beyond network.natGateways (after the route tables point every private
// subnet at the first AZ's gateway; each is deleted, waited for until deleted, and only then is
// its Elastic IP released), and the interface endpoints' security group when no interface
// endpoint is wanted (after the endpoints are gone). Without any such resource found or
// recorded it makes no call beyond the claims' reads. Its Down does nothing: the NAT gateway
// and security group steps delete theirs.
type networkRetireStep struct{ network catalog.Network }

func (networkRetireStep) Name() string { return "retire/network" }
func (networkRetireStep) DependsOn() []string {
	deps := []string{"route-tables"}
	for _, kind := range slices.Concat(catalog.GatewayKinds, catalog.InterfaceKinds) {
		deps = append(deps, vpcEndpointKey(kind))
	}
	return deps
}

func (networkRetireStep) Retires() {}

// retired are the steps whose resources the network no longer wants: the NAT gateway steps of
// the other AZs, and the endpoints' group. They are built as wanted, so their Inspect reads.
func (r networkRetireStep) retired() []Step {
	var out []Step
	for az := range AZCount {
		if !natWanted(r.network, az) {
			out = append(out, natGatewayStep{az: az, wanted: true})
		}
	}
	if len(r.network.InterfaceEndpoints) == 0 {
		out = append(out, securityGroupStep{kind: "endpoint", wanted: true})
	}
	return out
}

// present are the statuses of resources AWS holds or the state file names.
func present(statuses []Status) []Status {
	var out []Status
	for _, st := range statuses {
		if st.AWS.Kind != engine.Missing || st.StateID != "" {
			out = append(out, st)
		}
	}
	return out
}

// natWanted says whether the network has a NAT gateway in the AZ: the first AZ always.
func natWanted(n catalog.Network, az int) bool { return az == 0 || n.NATGateways >= AZCount }

func (networkRetireStep) Claim(context.Context, *Env) error { return nil } // the retired steps' own claims read

func (r networkRetireStep) Up(ctx context.Context, e *Env) error {
	for _, s := range r.retired() {
		if len(present(s.Inspect(ctx, e))) == 0 {
			continue // none there, none recorded: no call
		}
		if err := s.Down(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

func (networkRetireStep) Down(context.Context, *Env) error { return nil }

// Inspect shows what the retirement removes.
func (r networkRetireStep) Inspect(ctx context.Context, e *Env) []Status {
	var out []Status
	for _, s := range r.retired() {
		out = append(out, present(s.Inspect(ctx, e))...)
	}
	return out
}
