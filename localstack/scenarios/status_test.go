package scenarios

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/tapctl/tapctl/engine"
)

func TestStatusShowsStateAndAWS(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)

	r := tapctl(t, dir, "status", "--env", env, "--output", "json").mustSucceed(t)
	var statuses []engine.Status
	must(t, json.Unmarshal([]byte(r.Stdout), &statuses))
	if len(statuses) < 12 {
		t.Fatalf("status lists %d resources, want at least the 12 of the network", len(statuses))
	}
	for _, s := range statuses {
		if s.StateID == "" || s.AWS.String() == "missing" || strings.HasPrefix(s.AWS.String(), "error") {
			t.Errorf("after up: %+v", s)
		}
	}
	if m, _ := r.Calls.Totals(); m != 0 {
		t.Errorf("status made %d mutating calls", m)
	}

	// Delete the NAT gateway behind tapctl's back: status says so, the state still holds its ID.
	natID := stateResource(t, dir, env, "nat-gateway").ID
	_, err := clients(t).EC2.DeleteNatGateway(context.Background(), &ec2.DeleteNatGatewayInput{NatGatewayId: &natID})
	must(t, err)
	table := tapctl(t, dir, "status", "--env", env).mustSucceed(t).Stdout
	var natLine string
	for _, line := range strings.Split(table, "\n") {
		if strings.Contains(line, "NAT gateway") {
			natLine = line
		}
	}
	if !strings.Contains(natLine, natID) || !strings.Contains(natLine, "missing") {
		t.Errorf("status line for the deleted NAT gateway = %q, want its state ID and 'missing'", natLine)
	}
}
