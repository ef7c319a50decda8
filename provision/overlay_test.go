package provision

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

func TestFreeOverlayPort(t *testing.T) {
	listeners := func(ports ...int32) []elbtypes.Listener {
		var out []elbtypes.Listener
		for _, p := range ports {
			out = append(out, elbtypes.Listener{Port: aws.Int32(p)})
		}
		return out
	}
	var all []int32
	for p := OverlayPorts.First; p <= OverlayPorts.Last; p++ {
		all = append(all, p)
	}
	for _, c := range []struct {
		name      string
		listeners []elbtypes.Listener
		taken     []int32
		want      int32 // 0: refused
	}{
		{"only the base's :80", listeners(80), nil, OverlayPorts.First},
		{"the lowest gap", listeners(80, OverlayPorts.First, OverlayPorts.First+2), nil, OverlayPorts.First + 1},
		{"a port another overlay took meanwhile", listeners(80), []int32{OverlayPorts.First}, OverlayPorts.First + 1},
		{"every port used", listeners(append([]int32{80}, all...)...), nil, 0},
	} {
		got, err := freeOverlayPort(c.listeners, c.taken)
		if c.want == 0 {
			if err == nil {
				t.Errorf("%s: port %d, want a refusal", c.name, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: port %d (%v), want %d", c.name, got, err, c.want)
		}
	}
}

// The base keeps an overlay's rule on its load balancer group while the overlay holds its
// listener on that port, and only then: any other rule is the base's to correct.
func TestBaseGroupLeavesOverlayRulesAlone(t *testing.T) {
	g := &ec2types.SecurityGroup{IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(80), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}},
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8001), ToPort: aws.Int32(8001), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0"), Description: aws.String(overlayRuleNote + "pr1")}}},
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0"), Description: aws.String("ssh, by hand")}}},
	}}
	held := flattenRules(g)
	if !slices.Contains(held, overlayPortRule(NewEnv("pr1"), 8001)) {
		t.Errorf("the overlay's rule was not read as pr1's: %v", held)
	}
	want := []sgRule{{protocol: "tcp", from: 80, to: 80, cidr: "0.0.0.0/0"}}
	_, revoke := ruleChanges(withoutOverlayRules(held, map[string]int32{"pr1": 8001}), want)
	if len(revoke) != 1 || revoke[0].from != 22 {
		t.Errorf("while pr1 holds :8001, the base would revoke %v, want only the hand-made :22", revoke)
	}
	// Once pr1's listener is gone (or on another port), its rule is stale and goes too.
	for _, inUse := range []map[string]int32{nil, {"pr1": 8002}, {"pr2": 8001}} {
		_, revoke = ruleChanges(withoutOverlayRules(held, inUse), want)
		if len(revoke) != 2 {
			t.Errorf("with overlays %v holding listeners, the base would revoke %v, want :22 and pr1's stale :8001", inUse, revoke)
		}
	}
}

func TestBaseRoom(t *testing.T) {
	for _, c := range []struct {
		name               string
		listeners          int
		hasListener        bool
		targetGroups, need int
		refused            string
	}{
		{"room for both", 3, false, 12, 6, ""},
		{"exactly full after", 3, false, 94, 6, ""},
		{"one target group too many", 3, false, 95, 6, "holds 95 target groups of the 100 AWS allows; overlay pr1 needs 6 more"},
		{"its own groups are counted once", 3, true, 100, 0, ""},
		{"no listener left", 50, false, 10, 6, "holds 50 listeners, the most AWS allows (50)"},
		{"its listener exists already", 50, true, 10, 0, ""},
	} {
		err := baseRoom("microservices-alb-preview", "pr1", c.listeners, c.hasListener, c.targetGroups, c.need)
		switch {
		case c.refused == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.refused != "" && (err == nil || !strings.Contains(err.Error(), c.refused)):
			t.Errorf("%s: %v, want a refusal containing %q", c.name, err, c.refused)
		}
	}
}
