package provision

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"
	"github.com/aws/smithy-go"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/state"
)

// testEnv is an environment whose state file holds the given resources.
func testEnv(t *testing.T, recorded map[string]state.Resource) *Env {
	t.Helper()
	e := NewEnv("pr1")
	e.Region, e.Account = "us-east-1", "123456789012"
	st, err := state.Open(t.TempDir(), e.Name)
	if err != nil {
		t.Fatal(err)
	}
	for key, res := range recorded {
		if err := st.Put(key, res); err != nil {
			t.Fatal(err)
		}
	}
	e.State = st
	e.Catalog = catalog.Default()
	return e
}

// convergeNamed records before it reports, and makes exactly the call the resource needs.
func TestConvergeNamed(t *testing.T) {
	made := state.Resource{ID: "id-new", ARN: "arn:new"}
	cases := []struct {
		name                     string
		have                     *state.Resource
		drift                    string
		failCall                 bool
		wantCreate, wantCorrect  bool
		wantRecorded             string
		wantCreated, wantUpdated bool
	}{
		{name: "missing: created", wantCreate: true, wantRecorded: "id-new", wantCreated: true},
		{name: "up to date", have: &state.Resource{ID: "id-1"}, wantRecorded: "id-1"},
		{name: "drifted: corrected", have: &state.Resource{ID: "id-1"}, drift: "provider", wantCorrect: true, wantRecorded: "id-1", wantUpdated: true},
		{name: "a failed create records nothing", failCall: true, wantCreate: true},
		{name: "a failed correction is recorded but not reported", have: &state.Resource{ID: "id-1"}, drift: "provider", failCall: true, wantCorrect: true, wantRecorded: "id-1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := testEnv(t, nil)
			created, corrected := false, false
			var callErr error
			if c.failCall {
				callErr = errors.New("refused")
			}
			err := convergeNamed(e, "thing", "thing x", c.have, func() (state.Resource, error) {
				created = true
				return made, callErr
			}, c.drift, func() error {
				corrected = true
				return callErr
			})
			if (err != nil) != c.failCall || created != c.wantCreate || corrected != c.wantCorrect {
				t.Fatalf("err %v, create %v, correct %v; want failure %v, create %v, correct %v", err, created, corrected, c.failCall, c.wantCreate, c.wantCorrect)
			}
			if got := e.StateID("thing"); got != c.wantRecorded {
				t.Errorf("recorded %q, want %q", got, c.wantRecorded)
			}
			sum := e.Summary()
			if slices.Contains(sum.Created, "thing x") != c.wantCreated || slices.Contains(sum.Updated, "thing x") != c.wantUpdated {
				t.Errorf("summary created %v, updated %v; want %v, %v", sum.Created, sum.Updated, c.wantCreated, c.wantUpdated)
			}
			if wantUnchanged := !c.failCall && !c.wantCreated && !c.wantUpdated; slices.Contains(sum.Unchanged, "thing x") != wantUnchanged {
				t.Errorf("summary unchanged %v, want it listed: %v", sum.Unchanged, wantUnchanged)
			}
		})
	}
}

// A resource the run created reports no corrections: "created" says it all.
func TestChangeReport(t *testing.T) {
	for _, c := range []struct {
		name                  string
		fresh                 bool
		corrections           []string
		wantUpdated, wantSame bool
	}{
		{"existing, corrected", false, []string{"a", "b"}, true, false},
		{"existing, nothing to correct", false, nil, false, true},
		{"fresh, corrected", true, []string{"a"}, false, false},
		{"fresh, nothing to correct", true, nil, false, false},
	} {
		e := testEnv(t, nil)
		r := changeReport{e: e, resource: "thing x", id: "x", fresh: c.fresh}
		for _, what := range c.corrections {
			r.corrected(what)
		}
		r.done()
		sum := e.Summary()
		if slices.Contains(sum.Updated, "thing x") != c.wantUpdated || slices.Contains(sum.Unchanged, "thing x") != c.wantSame {
			t.Errorf("%s: updated %v, unchanged %v", c.name, sum.Updated, sum.Unchanged)
		}
	}
}

func TestDNSTTLDrift(t *testing.T) {
	record := func(ttl int64) *sdtypes.DnsConfig {
		return &sdtypes.DnsConfig{DnsRecords: []sdtypes.DnsRecord{{Type: sdtypes.RecordTypeA, TTL: aws.Int64(ttl)}}}
	}
	for _, c := range []struct {
		name string
		cfg  *sdtypes.DnsConfig
		want string
	}{
		{"as the spec wants", record(discoveryTTL), ""},
		{"changed by hand", record(300), "A record TTL 300 -> 60"},
		{"no record", &sdtypes.DnsConfig{}, "A record TTL -1 -> 60"},
		{"no DNS configuration", nil, "A record TTL -1 -> 60"},
	} {
		if got := dnsTTLDrift(c.cfg); got != c.want {
			t.Errorf("%s: drift %q, want %q", c.name, got, c.want)
		}
	}
}

func TestDeleteThenForget(t *testing.T) {
	gone := &smithy.GenericAPIError{Code: "RepositoryNotFoundException", Message: "gone"}
	refused := &smithy.GenericAPIError{Code: "AccessDenied", Message: "no"}
	cases := []struct {
		name                    string
		found                   bool
		callErr                 error
		wantErr                 string
		wantCalled, wantDeleted bool
		wantKept                bool // the state file still holds the key
	}{
		{name: "found: deleted and forgotten", found: true, wantCalled: true, wantDeleted: true},
		{name: "already gone counts as deleted", found: true, callErr: gone, wantCalled: true, wantDeleted: true},
		{name: "refused: kept, the error wrapped once", found: true, callErr: refused, wantCalled: true, wantKept: true,
			wantErr: "deleting ECR repository r: api error AccessDenied: no"},
		{name: "not found: only forgotten", found: false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := testEnv(t, map[string]state.Resource{"repo": {ID: "r"}})
			called := false
			err := deleteThenForget(e, "repo", c.found, "ECR repository r", "r", func() error {
				called = true
				return c.callErr
			})
			if got := fmt.Sprint(err); (err != nil || c.wantErr != "") && got != c.wantErr {
				t.Errorf("error %q, want %q", got, c.wantErr)
			}
			if called != c.wantCalled || slices.Contains(e.Summary().Deleted, "ECR repository r") != c.wantDeleted {
				t.Errorf("called %v, deleted %v", called, e.Summary().Deleted)
			}
			if kept := e.StateID("repo") != ""; kept != c.wantKept {
				t.Errorf("state keeps the key: %v, want %v", kept, c.wantKept)
			}
		})
	}
}
