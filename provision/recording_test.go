package provision

import (
	"context"
	"slices"
	"testing"

	"github.com/tapctl/tapctl/state"
)

// A created resource is in the state file and counted created; an adopted one whose tags are
// all there is recorded with no call to AWS (the Env has no clients) and counted nowhere.
func TestRecordCreatedAndAdoptEC2(t *testing.T) {
	e := netTestEnv(t, nil)
	if err := e.recordCreated(keyVPC, "VPC v", state.Resource{ID: "vpc-1"}); err != nil {
		t.Fatal(err)
	}
	if e.StateID(keyVPC) != "vpc-1" || !slices.Equal(e.Summary().Created, []string{"VPC v"}) {
		t.Errorf("after recordCreated: state %q, created %v", e.StateID(keyVPC), e.Summary().Created)
	}
	name := e.Names.InternetGateway()
	if err := e.adoptEC2(context.Background(), keyInternetGateway, "internet gateway "+name, state.Resource{ID: "igw-1"}, ownedEC2Tags(e.Name, name), name); err != nil {
		t.Fatal(err)
	}
	if e.StateID(keyInternetGateway) != "igw-1" || len(e.Summary().Updated) != 0 || len(e.Summary().Created) != 1 {
		t.Errorf("after adoptEC2: state %q, summary %+v", e.StateID(keyInternetGateway), e.Summary())
	}
}
