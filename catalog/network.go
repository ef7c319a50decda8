package catalog

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Network is the environment's network shape, the network: section of tapctl.yaml. The source
// design builds one NAT gateway and no VPC endpoints only because its test account hit limits;
// these settings build what it recommends for production.
type Network struct {
	// NATGateways is 1 (one NAT gateway, in the first AZ, for every private subnet) or 3 (one
	// per AZ, each private subnet routed to its own AZ's).
	NATGateways int
	// GatewayEndpoints adds the S3 and DynamoDB gateway endpoints to the private route tables.
	GatewayEndpoints bool
	// InterfaceEndpoints are the interface endpoints in the private subnets, of InterfaceKinds.
	InterfaceEndpoints []string
}

// InterfaceKinds are the interface endpoints tapctl.yaml may ask for, by service name.
var InterfaceKinds = []string{"ecr.api", "ecr.dkr", "logs"}

// GatewayKinds are the gateway endpoints gatewayEndpoints: true adds.
var GatewayKinds = []string{"s3", "dynamodb"}

// DefaultNetwork is today's platform (one NAT gateway) with the free gateway endpoints.
func DefaultNetwork() Network { return Network{NATGateways: 1, GatewayEndpoints: true} }

// File is everything a catalog file holds.
type File struct {
	Services []Service
	Network  Network
}

// LoadFile reads and validates a catalog file with its network section. It makes no AWS call.
func LoadFile(path string) (File, error) {
	raw, err := readFile(path)
	if err != nil {
		return File{}, err
	}
	return ParseFile(path, raw)
}

// networkDocs is the comment tapctl init writes beside each network field. Prices are
// us-east-1 on-demand, from memory of the AWS pricing pages (Amazon VPC pricing, AWS PrivateLink
// pricing) as of 2026-12-02: check them before relying on them.
var networkDocs = map[string][]string{
	"natGateways": {
		"1: one NAT gateway in the first AZ for every private subnet (the source design's test account)",
		"3: one per AZ, each private subnet routed to its own AZ's (an AZ outage cuts only that AZ)",
		"A NAT gateway costs $0.045/h (about $32.85/month) + $0.045/GB processed (default 1)",
	},
	"gatewayEndpoints": {
		"true: S3 and DynamoDB gateway endpoints on the private route tables. Free, and their",
		"traffic skips the NAT's per-GB charge; ECR image layers come from S3 (default true)",
	},
	"interfaceEndpoints": {
		"any of ecr.api, ecr.dkr, logs: interface endpoints in the private subnets, private DNS on,",
		"443 admitted from the private subnets. Each costs $0.01/h per AZ, $0.03/h in 3 AZs",
		"(about $21.90/month) + $0.01/GB, and saves the NAT's $0.045/GB on that traffic (default [])",
	},
}

var networkOrder = []string{"natGateways", "gatewayEndpoints", "interfaceEndpoints"}

// networkTemplate is the network section tapctl init writes, with a comment per field.
func networkTemplate(n Network) string {
	var b strings.Builder
	b.WriteString("# The network every environment gets (README, \"Production network\"). Prices are us-east-1,\n")
	b.WriteString("# as of 2026-12-02, from memory of the AWS pricing pages: check them for your region.\n")
	b.WriteString("network:\n")
	ifaces := "[]"
	if len(n.InterfaceEndpoints) > 0 {
		ifaces = "[" + strings.Join(n.InterfaceEndpoints, ", ") + "]"
	}
	values := map[string]string{
		"natGateways":        fmt.Sprint(n.NATGateways),
		"gatewayEndpoints":   fmt.Sprint(n.GatewayEndpoints),
		"interfaceEndpoints": ifaces,
	}
	for _, f := range networkOrder {
		for _, line := range networkDocs[f] {
			b.WriteString("  # " + line + "\n")
		}
		fmt.Fprintf(&b, "  %s: %s\n", f, values[f])
	}
	return b.String()
}

// network reads the network: section; fields left out keep DefaultNetwork's values.
func (r *reader) network(n *yaml.Node) Network {
	net := DefaultNetwork()
	if n.Kind != yaml.MappingNode {
		r.add(n, "network", "must be a mapping of fields (%s)", strings.Join(networkOrder, ", "))
		return net
	}
	keys := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		field := "network." + key.Value
		if r.givenAgain(keys, key, field) {
			continue
		}
		switch key.Value {
		case "natGateways":
			before := len(r.problems)
			v := r.integer(val, field, 0, 1<<20)
			if len(r.problems) == before && v != 1 && v != 3 {
				r.add(val, field, "%d: use 1 (one NAT gateway) or 3 (one per AZ)", v)
			} else if len(r.problems) == before {
				net.NATGateways = int(v)
			}
		case "gatewayEndpoints":
			if s, ok := r.scalar(val, field); ok {
				if val.Tag != "!!bool" {
					r.add(val, field, "%q: use true or false", s)
				} else {
					net.GatewayEndpoints = s == "true" || s == "True" || s == "TRUE"
				}
			}
		case "interfaceEndpoints":
			net.InterfaceEndpoints = r.interfaceEndpoints(val, field)
		default:
			r.add(key, field, "unknown field (known: %s)", strings.Join(networkOrder, ", "))
		}
	}
	return net
}

// interfaceEndpoints reads the list of interface endpoint kinds: each known, none twice; the
// result is in InterfaceKinds' order, so the same set always reads the same.
func (r *reader) interfaceEndpoints(n *yaml.Node, field string) []string {
	if n.Kind != yaml.SequenceNode {
		r.add(n, field, "must be a list, any of %s (or [])", strings.Join(InterfaceKinds, ", "))
		return nil
	}
	seen := map[string]bool{}
	for i, item := range n.Content {
		at := fmt.Sprintf("%s[%d]", field, i)
		s, ok := r.scalar(item, at)
		if !ok {
			continue
		}
		switch {
		case !slices.Contains(InterfaceKinds, s):
			r.add(item, at, "%q is not an interface endpoint tapctl makes (any of %s)", s, strings.Join(InterfaceKinds, ", "))
		case seen[s]:
			r.add(item, at, "%q is listed twice", s)
		default:
			seen[s] = true
		}
	}
	var out []string
	for _, k := range InterfaceKinds {
		if seen[k] {
			out = append(out, k)
		}
	}
	return out
}
