package engine

import (
	"strings"
	"testing"
)

// Two of a kind found by tags: the message names both IDs and the command that deletes the
// extra one; a kind without a known command still says what to do.
func TestFoundTwoNamesTheIDsAndTheCommand(t *testing.T) {
	e := NewRun("e1")
	e.Region, e.Account = "us-east-1", "123456789012"
	two := []*item{{id: "vpc-2", env: "e1", managedBy: "tapctl"}, {id: "vpc-1", env: "e1", managedBy: "tapctl"}}
	l := itemLookup("", nil, nil, two)
	l.Kind, l.Name = "VPC", "microservices-vpc-e1"
	_, err := FindOwned(e, l)
	want := "found 2 VPCs tagged as microservices-vpc-e1 of environment e1 (vpc-1, vpc-2); delete all but one by hand (for example aws ec2 delete-vpc --vpc-id vpc-2, once its subnets, gateways and security groups are gone), then run again"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
	for kind, command := range removeCommands {
		if !strings.Contains(command, "{id}") || !strings.HasPrefix(command, "aws ") {
			t.Errorf("%s: %q names no ID or is not an aws command", kind, command)
		}
	}
	l = itemLookup("", nil, nil, []*item{{id: "a", env: "e1", managedBy: "tapctl"}, {id: "b", env: "e1", managedBy: "tapctl"}})
	if _, err := FindOwned(e, l); err == nil || !strings.HasSuffix(err.Error(), "(a, b); delete all but one by hand, then run again") {
		t.Errorf("kind without a command: %v", err)
	}
}
