package cmd

import (
	"testing"

	"github.com/tapctl/tapctl/engine"
)

func TestStepStateFoldsItsResources(t *testing.T) {
	s := func(aws ...string) []engine.Status {
		var out []engine.Status
		for _, a := range aws {
			out = append(out, engine.Status{AWS: a})
		}
		return out
	}
	for _, c := range []struct {
		statuses []engine.Status
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
