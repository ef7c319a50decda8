package catalog

import (
	"reflect"
	"strings"
	"testing"
)

func TestNetworkSection(t *testing.T) {
	svc := "services:\n  - name: a\n    priority: 1\n"
	for _, tc := range []struct {
		name, doc string
		want      Network
		problems  []string
	}{
		{"absent: the default", svc, DefaultNetwork(), nil},
		{"production", "network:\n  natGateways: 3\n  gatewayEndpoints: false\n  interfaceEndpoints: [logs, ecr.api]\n" + svc,
			Network{NATGateways: 3, InterfaceEndpoints: []string{"ecr.api", "logs"}}, nil},
		{"fields left out keep defaults", "network:\n  natGateways: 3\n" + svc,
			Network{NATGateways: 3, GatewayEndpoints: true}, nil},
		{"two NAT gateways", "network:\n  natGateways: 2\n" + svc, Network{},
			[]string{"f.yaml:2: network.natGateways: 2: use 1 (one NAT gateway) or 3 (one per AZ)"}},
		{"not a number", "network:\n  natGateways: three\n" + svc, Network{},
			[]string{`f.yaml:2: network.natGateways: "three" is not a whole number`}},
		{"not a bool", "network:\n  gatewayEndpoints: 1\n" + svc, Network{},
			[]string{`f.yaml:2: network.gatewayEndpoints: "1": use true or false`}},
		{"unknown endpoint", "network:\n  interfaceEndpoints: [ecr.api, sqs]\n" + svc, Network{},
			[]string{`f.yaml:2: network.interfaceEndpoints[1]: "sqs" is not an interface endpoint tapctl makes (any of ecr.api, ecr.dkr, logs)`}},
		{"endpoint twice", "network:\n  interfaceEndpoints:\n    - logs\n    - logs\n" + svc, Network{},
			[]string{`f.yaml:4: network.interfaceEndpoints[1]: "logs" is listed twice`}},
		{"unknown field", "network:\n  natGateway: 3\n" + svc, Network{},
			[]string{"f.yaml:2: network.natGateway: unknown field (known: natGateways, gatewayEndpoints, interfaceEndpoints)"}},
		{"not a mapping", "network: 3\n" + svc, Network{},
			[]string{"f.yaml:1: network: must be a mapping of fields"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFile("f.yaml", []byte(tc.doc))
			if tc.problems == nil {
				if err != nil || !reflect.DeepEqual(f.Network, tc.want) {
					t.Fatalf("got %+v, %v; want %+v", f.Network, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %+v", f.Network)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.problems) {
				t.Fatalf("got %q", lines)
			}
			for i, p := range tc.problems {
				if !strings.HasPrefix(lines[i], p) {
					t.Errorf("problem %d: got %q, want prefix %q", i, lines[i], p)
				}
			}
		})
	}
}

// What tapctl init writes reads back as written, for every network.
func TestNetworkTemplateRoundTrip(t *testing.T) {
	for _, n := range []Network{DefaultNetwork(), {NATGateways: 3, InterfaceEndpoints: InterfaceKinds}, {NATGateways: 1}} {
		f := File{Services: Default(), Network: n}
		got, err := ParseFile("f.yaml", TemplateFile(f))
		if err != nil || !reflect.DeepEqual(got, f) {
			t.Fatalf("%+v: got %+v, %v", n, got.Network, err)
		}
	}
	if doc := string(Template(Default())); !strings.Contains(doc, "$0.045/h") || !strings.Contains(doc, "$0.01/h per AZ") || !strings.Contains(doc, "2026-12-02") {
		t.Fatalf("the template does not say the prices and their date:\n%s", doc)
	}
}
