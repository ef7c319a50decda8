package scenarios

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/smithy-go/middleware"

	"github.com/tapctl/tapctl/cloud"
)

// recordCheck verifies that a step writes what a create call returned to the state file before
// it makes its next call: a run killed between the two then leaves no resource behind unknown.
type recordCheck struct {
	t         *testing.T
	statePath string
	mu        sync.Mutex
	pending   map[string][]string // step -> identifiers its last create returned
	creates   int
}

var identifierField = regexp.MustCompile(`"(?:[A-Za-z]*(?:Id|Arn|ARN)|OperationId)":"([^"]+)"`)

func (r *recordCheck) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("testRecordCheck",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			step, op := cloud.StepOf(ctx), middleware.GetOperationName(ctx)
			r.mu.Lock()
			ids := r.pending[step]
			delete(r.pending, step)
			r.mu.Unlock()
			if len(ids) > 0 {
				raw, _ := os.ReadFile(r.statePath)
				found := false
				for _, id := range ids {
					found = found || strings.Contains(string(raw), id)
				}
				if !found {
					r.t.Errorf("step %s called %s before recording any of %v in the state file", step, op, ids)
				}
			}
			before, _ := os.ReadFile(r.statePath)
			out, md, err := next.HandleInitialize(ctx, in)
			if err == nil && step != "" && (strings.HasPrefix(op, "Create") || strings.HasPrefix(op, "Allocate") || strings.HasPrefix(op, "Register")) {
				body, _ := json.Marshal(out.Result)
				var found []string // identifiers this call brought into being (not the VPC it names)
				for _, m := range identifierField.FindAllStringSubmatch(string(body), -1) {
					if !strings.Contains(string(before), m[1]) {
						found = append(found, m[1])
					}
				}
				if len(found) > 0 {
					r.mu.Lock()
					r.pending[step] = found
					r.creates++
					r.mu.Unlock()
				}
			}
			return out, md, err
		}), middleware.After)
}

func TestEveryCreatedIDIsRecordedBeforeTheStepsNextCall(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	check := &recordCheck{t: t, statePath: filepath.Join(dir, env+".json"), pending: map[string][]string{}}
	tapctlWith(t, dir, []func(*middleware.Stack) error{check.middleware}, "up", "--env", env, "--no-wait").mustSucceed(t)
	if check.creates < 30 {
		t.Fatalf("only %d create calls were checked", check.creates)
	}
	// Creates that were a step's last call: their IDs must be in the state file by the end.
	raw, err := os.ReadFile(check.statePath)
	must(t, err)
	for step, ids := range check.pending {
		found := false
		for _, id := range ids {
			found = found || strings.Contains(string(raw), id)
		}
		if !found {
			t.Errorf("step %s never recorded any of %v", step, ids)
		}
	}
}
