package scenarios

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go/middleware"

	"github.com/tapctl/tapctl/localstack"
)

func countOf(calls []string, op string) int {
	n := 0
	for _, c := range calls {
		if c == op {
			n++
		}
	}
	return n
}

// The strict layer fails the first NAT gateway made with an address, as AWS sometimes does. A
// resend of its ClientToken would only get the failed gateway back: up deletes it and creates
// another with another token, reusing the address, and ends with one available gateway that
// the private route points at; everything it created is the inventory.
func TestFailedNATGatewayIsReplacedInTheFreshUp(t *testing.T) {
	env, dir, p := newEnvName(t), t.TempDir(), startProxy(t)
	downAtCleanup(t, dir, env)
	created := newCapture("EC2", "CreateNatGateway")
	up := tapctlAt(t, p.URL, dir, []func(*middleware.Stack) error{created.middleware}, "up", "--env", env, "--no-wait").mustSucceed(t)
	if n := p.StrictFired()[localstack.RuleNATFailsOnce]; n == 0 {
		t.Fatalf("the strict layer never reported the NAT gateway failed (fired: %v)", p.StrictFired())
	}
	m := up.Calls.Mutating()
	if countOf(m, "EC2.CreateNatGateway") != 2 || countOf(m, "EC2.DeleteNatGateway") != 1 || countOf(m, "EC2.AllocateAddress") != 1 {
		t.Errorf("up made %d CreateNatGateway, %d DeleteNatGateway, %d AllocateAddress; want 2, 1 (the failed one) and 1 (the address reused)",
			countOf(m, "EC2.CreateNatGateway"), countOf(m, "EC2.DeleteNatGateway"), countOf(m, "EC2.AllocateAddress"))
	}
	tokens := map[string]bool{}
	for _, body := range created.bodies {
		form, err := url.ParseQuery(string(body))
		must(t, err)
		tokens[form.Get("ClientToken")] = true
	}
	if len(tokens) != 2 {
		t.Errorf("the two creates carried %d different ClientTokens, want 2: %v", len(tokens), tokens)
	}
	assertNetwork(t, env) // one available NAT gateway with the address; the private route to it
	assertInventory(t, dir, env)
	assertCreatedAreTheInventory(t, p.Journal(), env)
	if m := tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--no-wait").mustSucceed(t).Calls.Mutating(); len(m) != 0 {
		t.Errorf("second up made %v", m)
	}
	tapctlAt(t, p.URL, dir, nil, "down", "--yes", "--env", env).mustSucceed(t)
	if left := leftovers(t, env); len(left) != 0 {
		t.Errorf("down left %v", left)
	}
}

// A NAT gateway deleted by hand is recreated with the same address and the private route is
// pointed at the new one. Deleted, a gateway is "deleting" for a while and holds its address;
// up waits for it to be deleted before it creates (the strict layer refuses the address until a
// describe has shown the old gateway deleted), with the state file and without it.
func TestNATGatewayDeletedByHandIsRecreated(t *testing.T) {
	env, dir, p := newEnvName(t), t.TempDir(), startProxy(t)
	downAtCleanup(t, dir, env)
	ctx, c := context.Background(), clientsAt(t, p.URL).EC2
	tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--no-wait").mustSucceed(t)
	address := stateResource(t, dir, env, "elastic-ip").ID

	for _, lostState := range []bool{false, true} {
		old := stateResource(t, dir, env, "nat-gateway").ID
		_, err := c.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: aws.String(old)})
		must(t, err)
		if lostState {
			must(t, os.Remove(filepath.Join(dir, env+".json")))
		}
		fix := tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--no-wait").mustSucceed(t)
		if n := countOf(fix.Calls.Mutating(), "EC2.CreateNatGateway"); n != 1 {
			t.Errorf("lost state %v: up made %d CreateNatGateway, want 1", lostState, n)
		}
		if nat := stateResource(t, dir, env, "nat-gateway").ID; nat == old {
			t.Errorf("lost state %v: the state still names the deleted NAT gateway %s", lostState, old)
		}
		if got := stateResource(t, dir, env, "elastic-ip").ID; got != address {
			t.Errorf("lost state %v: Elastic IP %s, want the environment's %s reused", lostState, got, address)
		}
		assertNetwork(t, env) // one available NAT gateway; the private route points at it
	}
	if n := p.StrictFired()[localstack.RuleNATHoldsAddress]; n < 2 {
		t.Errorf("the deleted gateways were shown deleting %d times, want twice", n)
	}
	if n := p.InjectedCodes()["CreateNatGateway Resource.AlreadyAssociated"]; n != 0 {
		t.Errorf("up asked for the address %d times while the old gateway still held it", n)
	}
	assertInventory(t, dir, env)
}
