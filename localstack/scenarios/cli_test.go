package scenarios

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/cmd"
	"github.com/tapctl/tapctl/localstack"
	"github.com/tapctl/tapctl/state"
)

// result is one in-process run of the real command line.
type result struct {
	Code           int
	Stdout, Stderr string
	Calls          *cloud.CallCounter
	Elapsed        time.Duration
}

// tapctl runs the command line in-process against the emulator, counting every API call.
// Global flags go before the command, as a user types them.
func tapctl(t testing.TB, stateDir string, args ...string) result {
	t.Helper()
	return tapctlWith(t, stateDir, nil, args...)
}

func tapctlWith(t testing.TB, stateDir string, extra []func(*middleware.Stack) error, args ...string) result {
	t.Helper()
	return tapctlAt(t, localstack.Endpoint(t), stateDir, extra, args...)
}

// tapctlAt runs tapctl against another endpoint, such as a Proxy in front of the emulator.
func tapctlAt(t testing.TB, endpoint, stateDir string, extra []func(*middleware.Stack) error, args ...string) result {
	t.Helper()
	calls := cloud.NewCallCounter()
	var stdout, stderr bytes.Buffer
	full := append([]string{"tapctl", "--endpoint", endpoint, "--state-dir", stateDir, "--log-format", "json"}, args...)
	start := time.Now()
	code := cmd.Run(context.Background(), full, cmd.Options{
		Stdout: &stdout, Stderr: &stderr,
		APIOptions: append([]func(*middleware.Stack) error{calls.Middleware}, extra...),
	})
	r := result{Code: code, Stdout: stdout.String(), Stderr: stderr.String(), Calls: calls, Elapsed: time.Since(start)}
	m, rd := calls.Totals()
	t.Logf("tapctl %s: exit %d, %d mutating + %d read calls, %s", strings.Join(args, " "), code, m, rd, r.Elapsed.Round(time.Millisecond))
	return r
}

// mustSucceed fails the test with tapctl's stderr when it did not exit 0.
func (r result) mustSucceed(t testing.TB) result {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("tapctl exited %d:\n%s", r.Code, r.Stderr)
	}
	return r
}

// newEnvName gives each test its own environment on the shared emulator.
func newEnvName(t testing.TB) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "t" + hex.EncodeToString(b)
}

// clients reads back what AWS holds, with the same configuration tapctl uses.
func clients(t testing.TB) *cloud.Clients {
	t.Helper()
	return clientsAt(t, localstack.Endpoint(t))
}

func clientsAt(t testing.TB, endpoint string) *cloud.Clients {
	t.Helper()
	cfg, err := cloud.Load(context.Background(), cloud.Options{Region: "us-east-1", Endpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	return cloud.NewClients(cfg)
}

func tagMap[T any](tags []T, kv func(T) (*string, *string)) map[string]string {
	out := map[string]string{}
	for _, tag := range tags {
		k, v := kv(tag)
		out[aws.ToString(k)] = aws.ToString(v)
	}
	return out
}

// stateResource reads one resource from an environment's state file.
func stateResource(t testing.TB, dir, env, key string) state.Resource {
	t.Helper()
	st, err := state.Open(dir, env)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := st.Get(key)
	if !ok {
		t.Fatalf("state of %s has no %s", env, key)
	}
	return r
}

// callOrder records the operations made, in order, for tests of what happens before what.
type callOrder struct {
	mu    sync.Mutex
	calls []string
}

func (o *callOrder) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("testCallOrder",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			o.mu.Lock()
			o.calls = append(o.calls, awsmiddleware.GetServiceID(ctx)+"."+middleware.GetOperationName(ctx))
			o.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

func (o *callOrder) list() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.calls...)
}
