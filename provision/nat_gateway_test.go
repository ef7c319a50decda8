package provision

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// A resent ClientToken returns the gateway first made with it, failed or deleted as it may be:
// each former gateway of the environment gives the next create a token of its own, in whatever
// order AWS lists them, and a resend of one create keeps its token.
func TestNATTokenIsNewAfterEachFormerGateway(t *testing.T) {
	nat := func(id string) ec2types.NatGateway { return ec2types.NatGateway{NatGatewayId: aws.String(id)} }
	first := natToken("eipalloc-1", nil)
	afterOne := natToken("eipalloc-1", []ec2types.NatGateway{nat("nat-a")})
	afterTwo := natToken("eipalloc-1", []ec2types.NatGateway{nat("nat-a"), nat("nat-b")})
	if first != "tapctl-nat-eipalloc-1" {
		t.Errorf("first token %q, want the one earlier versions sent", first)
	}
	if first == afterOne || afterOne == afterTwo || first == afterTwo {
		t.Errorf("tokens repeat: %q, %q, %q", first, afterOne, afterTwo)
	}
	if again := natToken("eipalloc-1", []ec2types.NatGateway{nat("nat-b"), nat("nat-a")}); again != afterTwo {
		t.Errorf("the same former gateways in another order give %q, want %q", again, afterTwo)
	}
	if len(afterTwo) > 64 {
		t.Errorf("token %q is longer than EC2's 64 characters", afterTwo)
	}
}

// Each state a NAT gateway can be in: live or history, what a former one needs before its
// address is used again, and why one will never become available.
func TestNATStateClassification(t *testing.T) {
	cases := []struct {
		state       ec2types.NatGatewayState
		live        bool
		cleanup     natCleanup
		wantFailure string
	}{
		{ec2types.NatGatewayStatePending, true, natLeave, ""},
		{ec2types.NatGatewayStateAvailable, true, natLeave, ""},
		{ec2types.NatGatewayStateFailed, false, natDeleteThenAwait, "NAT gateway nat-1 is failed (Gateway.NotAttached: no internet gateway)"},
		{ec2types.NatGatewayStateDeleting, false, natAwaitDeleted, "NAT gateway nat-1 is deleting"},
		{ec2types.NatGatewayStateDeleted, false, natLeave, "NAT gateway nat-1 is deleted"},
	}
	for _, c := range cases {
		t.Run(string(c.state), func(t *testing.T) {
			n := ec2types.NatGateway{NatGatewayId: aws.String("nat-1"), State: c.state}
			if c.state == ec2types.NatGatewayStateFailed {
				n.FailureCode, n.FailureMessage = aws.String("Gateway.NotAttached"), aws.String("no internet gateway")
			}
			if got := liveNAT(n); got != c.live {
				t.Errorf("liveNAT = %t, want %t", got, c.live)
			}
			if got := formerNATCleanup(n); got != c.cleanup {
				t.Errorf("formerNATCleanup = %d, want %d", got, c.cleanup)
			}
			failure := natFailureOf(n)
			switch {
			case c.wantFailure == "" && failure != nil:
				t.Errorf("natFailureOf = %v, want none", failure)
			case c.wantFailure != "" && (failure == nil || failure.Error() != c.wantFailure):
				t.Errorf("natFailureOf = %v, want %q", failure, c.wantFailure)
			}
		})
	}
}
