package cmd

import (
	"testing"

	"github.com/tapctl/tapctl/provision"
)

func TestStepStateFoldsItsResources(t *testing.T) {
	s := func(aws ...string) []provision.Status {
		var out []provision.Status
		for _, a := range aws {
			out = append(out, provision.Status{AWS: a})
		}
		return out
	}
	for _, c := range []struct {
		statuses []provision.Status
		want     string
	}{
		{s("available"), graphCreated},
		{s("missing", "missing"), graphMissing},
		{s("available", "missing"), graphPartial},
		{s("available", "error: AccessDenied"), graphError},
		{s("drifted: tags"), graphDrifted},
		{nil, graphNoTarget},
	} {
		if got := stepState(c.statuses); got != c.want {
			t.Errorf("stepState(%v) = %q, want %q", c.statuses, got, c.want)
		}
	}
}
