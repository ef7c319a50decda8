package provision

import (
	"strings"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/state"
)

// Output is one of SPEC row 24's outputs.
type Output struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Outputs reads the SPEC's outputs from the state file: VpcId, ClusterName, MeshName (App Mesh
// mode only), LoadBalancerDns, OverlayUrl (overlays only: http://DNS:PORT) and one
// EcrRepo<Service> per service. Missing values are left out.
func Outputs(st *state.Store, services []catalog.Service) []Output {
	var out []Output
	add := func(name, key string, value func(state.Resource) string) {
		if r, ok := st.Get(key); ok && value(r) != "" {
			out = append(out, Output{Name: name, Value: value(r)})
		}
	}
	id := func(r state.Resource) string { return r.ID }
	add("VpcId", keyVPC, id)
	add("ClusterName", keyCluster, id)
	add("MeshName", keyMesh, id)
	add("LoadBalancerDns", keyALB, func(r state.Resource) string { return r.Attrs[attrDNS] })
	if url := OverlayURL(st); url != "" {
		out = append(out, Output{Name: "OverlayUrl", Value: url}) // an overlay's own listener
	}
	for _, svc := range services {
		add("EcrRepo"+titleCase(svc.Name), serviceKey(svc.Name, kindECRRepository), func(r state.Resource) string { return r.Attrs[attrURI] })
	}
	return out
}

// titleCase turns "payment" or "order-history" into "Payment" or "OrderHistory".
func titleCase(s string) string {
	var b strings.Builder
	upper := true
	for _, r := range s {
		if r == '-' || r == '_' {
			upper = true
			continue
		}
		if upper && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		upper = false
		b.WriteRune(r)
	}
	return b.String()
}
