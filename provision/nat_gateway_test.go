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
