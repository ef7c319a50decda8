package provision

import (
	"slices"
	"strings"
	"testing"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// Of several keys missing from the state file, the error names the one whose step runs
// first, the same one every time.
func TestMissingStateKeysAreNamedInRunOrder(t *testing.T) {
	services := catalog.Default()
	svc, choices := services[0], DefaultChoices()
	ordered, err := engine.Order(Platform(services, choices))
	if err != nil {
		t.Fatal(err)
	}
	runs := func(key string) int {
		i := slices.IndexFunc(ordered, func(s Step) bool { return s.Name() == key })
		if i < 0 {
			t.Fatalf("no step records %s", key)
		}
		return i
	}
	step := ecsServiceStep{svc: svc, choices: choices}
	n := svc.Name
	groups := map[string]struct {
		keys []string
		need func(*Env) error
	}{
		"ECS service": {[]string{serviceKey(n, kindTaskDefinition), serviceKey(n, kindTargetGroup), serviceKey(n, kindDiscoveryService)},
			func(e *Env) error { _, err := step.spec(e); return err }},
		"deployment": {[]string{serviceKey(n, kindInfrastructureRole), serviceKey(n, kindAltTargetGroup), serviceKey(n, kindListenerRule)},
			func(e *Env) error { _, err := step.deploymentSpec(e); return err }},
	}
	for name, g := range groups {
		for i, a := range g.keys {
			for _, b := range g.keys[i+1:] {
				e := NewEnv("pr1")
				st, err := state.Open(t.TempDir(), e.Name)
				if err != nil {
					t.Fatal(err)
				}
				e.State = st
				for _, k := range g.keys {
					if k != a && k != b {
						if err := st.Put(k, state.Resource{ID: "id-" + k, ARN: "arn-" + k}); err != nil {
							t.Fatal(err)
						}
					}
				}
				first := a
				if runs(b) < runs(a) {
					first = b
				}
				for range 10 {
					if err := g.need(e); err == nil || !strings.HasPrefix(err.Error(), first+" of environment pr1 is not in the state file") {
						t.Fatalf("%s, %s and %s missing: %v, want %s named", name, a, b, err, first)
					}
				}
			}
		}
	}
}
