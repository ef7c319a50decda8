package localstack

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/aws/smithy-go/middleware"

	"github.com/tapctl/tapctl/cloud"
)

var errSimulatedCrash = errors.New("simulated crash")

// crashAfter lets the k-th mutating call reach AWS and then fails it, as if tapctl died right
// after AWS carried the call out but before it could write the state file.
func crashAfter(k int) func(*middleware.Stack) error {
	var mu sync.Mutex
	n := 0
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("testCrashAfter",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				if err == nil && cloud.IsMutating(middleware.GetOperationName(ctx)) {
					mu.Lock()
					n++
					crash := n >= k
					mu.Unlock()
					if crash {
						return out, md, errSimulatedCrash
					}
				}
				return out, md, err
			}), middleware.After)
	}
}

// An up interrupted right after any of its mutating calls (AWS did the work, tapctl never saw
// the answer) is finished by the next up, with exactly one of each resource.
func TestInterruptedUpIsFinishedWithoutDuplicates(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	full := tapctl(t, t.TempDir(), "up", "--env", env, "--no-wait").mustSucceed(t)
	total, _ := full.Calls.Totals()
	tapctl(t, t.TempDir(), "down", "--yes", "--env", env).mustSucceed(t)

	step := 1
	if testing.Short() {
		step = 5
	}
	for k := 1; k <= total; k += step {
		env := newEnvName(t)
		crashed := tapctlWith(t, dir, []func(*middleware.Stack) error{crashAfter(k)}, "up", "--env", env, "--no-wait")
		if crashed.Code == 0 {
			t.Fatalf("k=%d: the simulated crash did not stop up", k)
		}
		tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)
		assertNetwork(t, env)
		assertPlatform(t, dir, env)
		tapctl(t, dir, "down", "--yes", "--env", env).mustSucceed(t)
		if n := readNetwork(t, env); n.count() != 0 {
			t.Fatalf("k=%d: down left %d resources", k, n.count())
		}
	}
}
