package provision

import (
	"slices"
	"testing"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/state"
)

// The task group admits the load balancer once per distinct port of the catalog, in port order,
// besides all traffic from itself and all egress.
func TestTaskGroupRulesFollowTheCatalogsPorts(t *testing.T) {
	e := NewEnv("pr1")
	st, err := state.Open(t.TempDir(), e.Name)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put("alb-security-group", state.Resource{ID: "sg-alb"}); err != nil {
		t.Fatal(err)
	}
	e.State = st
	api, admin := catalog.WithDefaults("api", 13), catalog.WithDefaults("admin", 14)
	api.Port, admin.Port = 8080, 8080
	e.Catalog = append(catalog.Default(), api, admin)

	rules, err := securityGroupStep{kind: "task"}.desiredRules(e, "sg-task")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules {
		got = append(got, r.String())
	}
	want := []string{"ingress tcp 80-80 from sg-alb", "ingress tcp 8080-8080 from sg-alb", "ingress all from sg-task", "egress all from 0.0.0.0/0"}
	if !slices.Equal(got, want) {
		t.Errorf("task group rules = %v, want %v", got, want)
	}
}
