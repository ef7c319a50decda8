package engine

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

type item struct{ id, env, managedBy string }

func itemLookup(stateID string, byID, byName *item, byTags []*item) Lookup[item] {
	l := Lookup[item]{
		Kind: "thing", Name: "thing-e1", StateID: stateID,
		Tags: func(i *item) (map[string]string, error) {
			tags := map[string]string{}
			if i.env != "" {
				tags[TagEnvironment] = i.env
			}
			if i.managedBy != "" {
				tags[TagManagedBy] = i.managedBy
			}
			return tags, nil
		},
		ID: func(i *item) string { return i.id },
	}
	l.ByID = func(id string) (*item, error) {
		if byID != nil && byID.id == id {
			return byID, nil
		}
		return nil, nil
	}
	l.ByName = func() (*item, error) { return byName, nil }
	if byTags != nil {
		l.ByTags = func() ([]*item, error) { return byTags, nil }
	}
	return l
}

func TestFindOwnedProvesEveryPath(t *testing.T) {
	mine := &item{id: "a", env: "e1", managedBy: "tapctl"}
	other := &item{id: "b", env: "e2", managedBy: "tapctl"}
	untagged := &item{id: "c"}
	cases := []struct {
		name       string
		destroying bool
		l          Lookup[item]
		want       string // id found, "" for none
		wantErr    string
	}{
		{"state ID of ours", false, itemLookup("a", mine, nil, nil), "a", ""},
		{"state ID of another environment", false, itemLookup("b", other, nil, nil), "", "the state file of e1 names thing b, which is not environment e1's (its tags say Environment=e2, ManagedBy=tapctl)"},
		{"state ID of another environment, in down too", true, itemLookup("b", other, nil, nil), "", "tapctl will not change or delete it"},
		{"state ID of another account", false, itemLookup("arn:aws:sns:us-east-1:999999999999:x", nil, nil, nil), "", "is in account 999999999999"},
		{"state ID of another region", true, itemLookup("arn:aws:sns:eu-west-1:123456789012:x", nil, nil, nil), "", "is in region eu-west-1"},
		{"state ID gone, found by name", false, itemLookup("z", nil, mine, nil), "a", ""},
		{"name of an untagged resource", false, itemLookup("", nil, untagged, nil), "", "thing thing-e1 exists and is not tapctl's environment e1 (it carries no ManagedBy/Environment tags)"},
		{"name of another environment's resource", false, itemLookup("", nil, other, nil), "", "tag it ManagedBy=tapctl Environment=e1 to hand it over"},
		{"name of a foreign resource, in down", true, itemLookup("", nil, untagged, nil), "", ""},
		{"tags of ours among others", false, itemLookup("", nil, nil, []*item{other, mine, untagged}), "a", ""},
		{"two of ours by tags", false, itemLookup("", nil, nil, []*item{mine, {id: "d", env: "e1", managedBy: "tapctl"}}), "", "found 2 things tagged as thing-e1 of environment e1 (a, d)"},
		{"nothing", false, itemLookup("", nil, nil, nil), "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := NewRun("e1")
			e.Region, e.Account, e.destroying = "us-east-1", "123456789012", c.destroying
			got, err := FindOwned(e, c.l)
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("error = %v, want %q", err, c.wantErr)
			}
			if id := func() string {
				if got == nil {
					return ""
				}
				return got.id
			}(); id != c.want {
				t.Errorf("found %q, want %q", id, c.want)
			}
		})
	}
}

func TestForeignErrorsAreFoundInJoinedErrorsOnceEach(t *testing.T) {
	f := &ForeignError{Kind: "secret", Name: "db-credentials-e1", Env: "e1"}
	g := &ForeignError{Kind: "log group", Name: "/ecs/x", Env: "e1"}
	err := errors.Join(fmt.Errorf("step a: %w", f), fmt.Errorf("step b: %w", errors.Join(g, f)), errors.New("other"))
	got := ForeignErrors(err)
	if len(got) != 2 || got[0] != g || got[1] != f {
		t.Errorf("ForeignErrors = %v", got)
	}
}
