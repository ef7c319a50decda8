package provision

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tapctl/tapctl/state"
)

func TestCloudWatchDimensionsOfELBARNs(t *testing.T) {
	cases := []struct{ name, got, want string }{
		{"load balancer", loadBalancerDimension("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/microservices-alb-pr1/50dc6c495c0c9188"), "app/microservices-alb-pr1/50dc6c495c0c9188"},
		{"load balancer in aws-cn", loadBalancerDimension("arn:aws-cn:elasticloadbalancing:cn-north-1:123456789012:loadbalancer/app/lb/1"), "app/lb/1"},
		{"target group", arnSuffix("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/payment-tg-pr1/73e2d6bc24d8a067", "targetgroup"), "targetgroup/payment-tg-pr1/73e2d6bc24d8a067"},
		{"not an ARN is kept", loadBalancerDimension("app/lb/1"), "app/lb/1"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: dimension = %q, want %q", c.name, c.got, c.want)
		}
	}
}

// The dashboard takes no tags: its body proves it is the environment's (the marker, or the
// metric widgets tapctl wrote before it wrote the marker), and any other body is drift.
func TestDashboardOwnershipAndDrift(t *testing.T) {
	e := testEnv(t, map[string]state.Resource{
		keyALB: {ID: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/microservices-alb-pr1/1"},
	})
	d := dashboardStep{}
	want, err := d.body(e)
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := d.metricWidgets(e)
	if err != nil {
		t.Fatal(err)
	}
	legacyBody, _ := json.Marshal(dashboardBody{Widgets: legacy})
	var parsed dashboardBody
	if err := json.Unmarshal([]byte(want), &parsed); err != nil {
		t.Fatal(err)
	}
	// The same body as CloudWatch answers it: another key order and spacing.
	reformatted, _ := json.MarshalIndent(parsed, "", "  ")
	otherEnv := strings.Replace(want, "environment **pr1**", "environment **pr2**", 1)
	edited := strings.Replace(want, `"period":300`, `"period":60`, 1)
	cases := []struct {
		name              string
		body              string
		wantOwned, wantUp bool // wantUp: up puts the body again
	}{
		{"tapctl's body", want, true, false},
		{"tapctl's body reformatted", string(reformatted), true, false},
		{"edited in the console: the marker stays", edited, true, true},
		{"written before the marker existed", string(legacyBody), true, true},
		{"another environment's", otherEnv, false, true},
		{"someone else's", `{"widgets":[{"type":"text","x":0,"y":0,"width":6,"height":1,"properties":{"markdown":"ours"}}]}`, false, true},
		{"not JSON", "{", false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := d.owned(e, c.body); got != c.wantOwned {
				t.Errorf("owned = %v, want %v", got, c.wantOwned)
			}
			if got := !sameJSON(c.body, want); got != c.wantUp {
				t.Errorf("drift = %v, want %v", got, c.wantUp)
			}
		})
	}
}
