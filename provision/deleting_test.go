package provision

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"
)

// A delete whose resource is already gone is done; any other error is said once, with what was
// being done.
func TestGoneIsDone(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"worked", nil, ""},
		{"already gone", &smithy.GenericAPIError{Code: "InvalidVpcID.NotFound"}, ""},
		{"load balancer gone", &smithy.GenericAPIError{Code: "LoadBalancerNotFound"}, ""},
		{"still in use", &smithy.GenericAPIError{Code: "DependencyViolation", Message: "has dependencies"},
			"deleting VPC vpc-1: api error DependencyViolation: has dependencies"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ""
			if err := goneIsDone("deleting VPC vpc-1", c.err); err != nil {
				got = err.Error()
			}
			if got != c.want {
				t.Errorf("goneIsDone = %q, want %q", got, c.want)
			}
		})
	}
}

// A one-resource Down: what was found is removed and counted deleted, the state key goes
// either way, and a failed find or removal keeps the key.
func TestRemoveFound(t *testing.T) {
	id := func(s *string) string { return *s }
	found := "vpc-1"
	refused := errors.New("refused")
	cases := []struct {
		name        string
		found       *string
		findErr     error
		removeErr   error
		wantErr     error
		wantRemoved bool
		wantKept    bool
	}{
		{name: "found and removed", found: &found, wantRemoved: true},
		{name: "none there: only forgotten"},
		{name: "the find failed", findErr: refused, wantErr: refused, wantKept: true},
		{name: "the removal failed", found: &found, removeErr: refused, wantErr: refused, wantRemoved: true, wantKept: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := netTestEnv(t, map[string]string{keyVPC: "vpc-1"})
			var removed []string
			err := removeFound(e, keyVPC, "VPC v", c.found, c.findErr, id, func(id string) error {
				removed = append(removed, id)
				return c.removeErr
			})
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if got := len(removed) == 1 && removed[0] == "vpc-1"; got != c.wantRemoved {
				t.Errorf("removed %v, want removed=%t", removed, c.wantRemoved)
			}
			if kept := e.StateID(keyVPC) != ""; kept != c.wantKept {
				t.Errorf("state key kept=%t, want %t", kept, c.wantKept)
			}
			counted := slices.Contains(e.Summary().Deleted, "VPC v")
			if want := c.wantRemoved && c.removeErr == nil; counted != want {
				t.Errorf("counted deleted=%t, want %t", counted, want)
			}
		})
	}
}

// retryUntilFree does not retry an answer outside busy, and counts already gone as done.
func TestRetryUntilFreeStopsOnOtherErrors(t *testing.T) {
	e := netTestEnv(t, nil)
	calls := 0
	err := retryUntilFree(context.Background(), e, "releasing Elastic IP eipalloc-1", []string{"InvalidIPAddress.InUse"}, func(context.Context) error {
		calls++
		return &smithy.GenericAPIError{Code: "UnauthorizedOperation", Message: "no"}
	})
	if calls != 1 || err == nil || err.Error() != "releasing Elastic IP eipalloc-1: api error UnauthorizedOperation: no" {
		t.Errorf("calls=%d err=%v", calls, err)
	}
	err = retryUntilFree(context.Background(), e, "releasing Elastic IP eipalloc-1", []string{"InvalidIPAddress.InUse"}, func(context.Context) error {
		return &smithy.GenericAPIError{Code: "InvalidAllocationID.NotFound"}
	})
	if err != nil {
		t.Errorf("already gone: err=%v", err)
	}
}

func TestEachAtOnceRunsEveryItemAtMostTenAtATime(t *testing.T) {
	var mu sync.Mutex
	running, most, done := 0, 0, 0
	err := eachAtOnce(35, func(i int) error {
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		time.Sleep(time.Millisecond) // lets the others start; the bound is asserted, not a timing
		mu.Lock()
		running--
		done++
		mu.Unlock()
		if i == 7 {
			return errors.New("item 7 failed")
		}
		return nil
	})
	if done != 35 || most > atOnce {
		t.Errorf("ran %d of 35, at most %d at once (bound %d)", done, most, atOnce)
	}
	if err == nil || err.Error() != "item 7 failed" {
		t.Errorf("error %v, want item 7's", err)
	}
}
