package cmd

import (
	"testing"

	"github.com/tapctl/tapctl/engine"
)

func TestStepStateFoldsItsResources(t *testing.T) {
	s := func(kinds ...engine.StatusKind) []engine.Status {
		var out []engine.Status
		for _, k := range kinds {
			out = append(out, engine.Status{AWS: engine.Observation{Kind: k}})
		}
		return out
	}
	for _, c := range []struct {
		statuses []engine.Status
		want     string
	}{
		{s(engine.Present), graphCreated},
		{s(engine.Missing, engine.Missing), graphMissing},
		{s(engine.Present, engine.Missing), graphPartial},
		{s(engine.Present, engine.Failed), graphError},
		{nil, graphNoTarget},
	} {
		if got := stepState(c.statuses); got != c.want {
			t.Errorf("stepState(%v) = %q, want %q", c.statuses, got, c.want)
		}
	}
}
