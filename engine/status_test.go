package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

func TestObserveKindsAndTheirText(t *testing.T) {
	foreign := &ForeignError{Kind: "secret", Name: "db-credentials-e1", Env: "e1"}
	for _, c := range []struct {
		err   error
		found bool
		kind  StatusKind
		text  string
	}{
		{nil, true, Present, "available"},
		{nil, false, Missing, "missing"},
		{errors.New("AccessDenied"), false, Failed, "error: AccessDenied"},
		{fmt.Errorf("looking up: %w", foreign), false, Foreign, "not this environment's: " + foreign.Error()},
	} {
		o := Observe(c.err, c.found, func() string { return "available" })
		if o.Kind != c.kind || o.String() != c.text {
			t.Errorf("Observe(%v, %t) = %s %q, want %s %q", c.err, c.found, o.Kind, o, c.kind, c.text)
		}
	}
}

// status --output json keeps the keys and texts the README documents; the kind is added.
func TestStatusJSONKeepsTheDocumentedFields(t *testing.T) {
	st := Status{Step: "vpc", Resource: "VPC microservices-vpc-e1", StateID: "vpc-1", AWS: Observation{Kind: Failed, Detail: "AccessDenied"}}
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"step":"vpc","resource":"VPC microservices-vpc-e1","stateId":"vpc-1","aws":"error: AccessDenied","kind":"error","detail":"AccessDenied"}`
	if string(raw) != want {
		t.Errorf("JSON = %s\nwant   %s", raw, want)
	}
	var back Status
	if err := json.Unmarshal(raw, &back); err != nil || back != st {
		t.Errorf("read back %+v (%v), want %+v", back, err, st)
	}
	missing, _ := json.Marshal(Status{Step: "nat-gateway", Resource: "NAT gateway x", AWS: Observation{Kind: Missing}})
	if want := `{"step":"nat-gateway","resource":"NAT gateway x","aws":"missing","kind":"missing"}`; string(missing) != want {
		t.Errorf("JSON = %s\nwant   %s", missing, want)
	}
}
