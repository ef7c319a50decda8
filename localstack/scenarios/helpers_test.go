package scenarios

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/cmd"
	"github.com/tapctl/tapctl/localstack"
	"github.com/tapctl/tapctl/naming"
	"github.com/tapctl/tapctl/state"
)

// The helpers every scenario may use: running tapctl, naming and tearing down environments,
// reading AWS back, recording the calls a run makes, reading its output.
//
// What an environment must hold in AWS is asserted beside the tests of each part of it:
//   - assertInventory (inventory_test.go), the whole environment, calls assertNetwork and
//     readNetwork (network_test.go), assertPlatform (platform_test.go) and assertReachable
//     (reachability_test.go);
//   - leftovers (teardown_test.go) lists what a down left;
//   - assertCreatedAreTheInventory and assertCreatedAreGone (journal_test.go) check every ID the
//     proxy's journal shows created.

// --- running tapctl -----------------------------------------------------------------------------

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

// tapctlWith runs tapctl with extra SDK middlewares (recorders of the calls it makes).
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

// The binary is built once per test binary, for the tests that need a process of its own.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// The version and commit the test binary is built with.
const (
	testVersion = "v0.0.0-test"
	testCommit  = "c0ffee1"
)

// binary builds the real tapctl once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := localstack.RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "tapctl-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "tapctl")
		// As the Makefile's build target does: the version and commit are set at link time.
		ldflags := "-X main.version=" + testVersion + " -X main.commit=" + testCommit
		out, err := exec.Command("go", "build", "-C", root, "-ldflags", ldflags, "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = &buildFailure{string(out), err}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// buildFailure is go build's error with its output.
type buildFailure struct {
	out string
	err error
}

func (b *buildFailure) Error() string { return "go build: " + b.err.Error() + "\n" + b.out }

// runBinary runs tapctl with a controlled environment: only what env lists, plus PATH and HOME.
func runBinary(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	c := exec.Command(binary(t), args...)
	c.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errb.String()
}

// noProfile is an environment for runBinary in which no AWS configuration or credential file
// exists and the instance metadata service is not asked.
func noProfile(t *testing.T) []string {
	missing := filepath.Join(t.TempDir(), "missing")
	return []string{"AWS_CONFIG_FILE=" + missing, "AWS_SHARED_CREDENTIALS_FILE=" + missing, "AWS_EC2_METADATA_DISABLED=true"}
}

// commandArgs is a command as a script types it: down confirmed with --yes.
func commandArgs(command string) []string {
	if command == "down" {
		return []string{"down", "--yes"}
	}
	return []string{command}
}

// planJSON is plan's documented --output json.
type planJSON struct {
	Env     string `json:"env"`
	Region  string `json:"region"`
	Changes []struct {
		Step      string         `json:"step"`
		Resource  string         `json:"resource"`
		Action    string         `json:"action"`
		Operation string         `json:"operation"`
		Fields    map[string]any `json:"fields"`
	} `json:"changes"`
	Summary struct {
		Add     *int `json:"add"`
		Change  *int `json:"change"`
		Destroy *int `json:"destroy"`
	} `json:"summary"`
}

// parsePlan reads plan's JSON and fails the test when a documented field is missing.
func parsePlan(t *testing.T, r result) planJSON {
	t.Helper()
	var p planJSON
	if err := json.Unmarshal([]byte(r.Stdout), &p); err != nil {
		t.Fatalf("plan --output json is not JSON: %v\n%s", err, r.Stdout)
	}
	if p.Changes == nil || p.Summary.Add == nil || p.Summary.Change == nil || p.Summary.Destroy == nil || p.Env == "" {
		t.Fatalf("plan JSON misses documented fields:\n%s", r.Stdout)
	}
	return p
}

// plan runs tapctl plan --output json and checks that it made no mutating call and left the
// state file byte for byte as it was.
func plan(t *testing.T, dir, env string, args ...string) (result, planJSON) {
	t.Helper()
	path := filepath.Join(dir, env+".json")
	before, errBefore := os.ReadFile(path)
	r := tapctl(t, dir, append([]string{"plan", "--env", env, "--output", "json"}, args...)...)
	if m := r.Calls.Mutating(); len(m) != 0 {
		t.Fatalf("plan made mutating calls %v", m)
	}
	after, errAfter := os.ReadFile(path)
	if (errBefore == nil) != (errAfter == nil) || !bytes.Equal(before, after) {
		t.Fatalf("plan changed the state file (before: %v, after: %v)", errBefore, errAfter)
	}
	if r.Code != 0 && r.Code != 2 {
		t.Fatalf("plan exited %d:\n%s", r.Code, r.Stderr)
	}
	return r, parsePlan(t, r)
}

// --- environments -------------------------------------------------------------------------------

// newEnvName gives each test its own environment on the shared emulator.
func newEnvName(t testing.TB) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "t" + hex.EncodeToString(b)
}

// downAtCleanup takes env down when the test ends, so that a test that stops half-way leaves
// no environment behind to slow or confuse the tests after it. Register it before the first up.
// A test that passed and whose state file is gone took env down itself (its own down is what
// it asserts) or never made it: nothing is run then. The down goes through the shared endpoint,
// whatever proxy the test used, and a failing down fails the test.
func downAtCleanup(t testing.TB, dir, env string) {
	t.Helper()
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(dir, env+".json")); errors.Is(err, fs.ErrNotExist) && !t.Failed() {
			return
		}
		if r := tapctl(t, dir, "down", "--yes", "--env", env); r.Code != 0 {
			t.Errorf("taking %s down at the end of the test: exit %d\n%s", env, r.Code, tail(r.Stderr, 5))
		}
	})
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

// writeCatalog writes the default services plus extra as a catalog file and returns its path.
func writeCatalog(t *testing.T, dir string, extra ...catalog.Service) string {
	t.Helper()
	path := filepath.Join(dir, "tapctl.yaml")
	must(t, os.WriteFile(path, catalog.Template(append(catalog.Default(), extra...)), 0o644))
	return path
}

// --- reading AWS back ---------------------------------------------------------------------------

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

// tagMap turns a service's tag list into a map.
func tagMap[T any](tags []T, kv func(T) (*string, *string)) map[string]string {
	out := map[string]string{}
	for _, tag := range tags {
		k, v := kv(tag)
		out[aws.ToString(k)] = aws.ToString(v)
	}
	return out
}

// ec2Tags is tagMap for EC2.
func ec2Tags(tags []ec2types.Tag) map[string]string {
	return tagMap(tags, func(t ec2types.Tag) (*string, *string) { return t.Key, t.Value })
}

// describeServices reads the ECS services of the default catalog in env, with their tags.
func describeServices(t *testing.T, env string) []ecstypes.Service {
	t.Helper()
	n := naming.Names{Env: env}
	var names []string
	for _, svc := range catalog.Default() {
		names = append(names, n.Service(svc.Name))
	}
	out, err := clients(t).ECS.DescribeServices(context.Background(), &ecs.DescribeServicesInput{
		Cluster: aws.String(n.Cluster()), Services: names, Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags},
	})
	must(t, err)
	return out.Services
}

// ecsTags is tagMap for ECS.
func ecsTags(tags []ecstypes.Tag) map[string]string {
	return tagMap(tags, func(t ecstypes.Tag) (*string, *string) { return t.Key, t.Value })
}

// startProxy is a test proxy of its own (strict, with its own journal and faults) in front of
// the emulator, closed with the test.
func startProxy(t *testing.T) *localstack.Proxy {
	t.Helper()
	p, err := localstack.StartProxy(localstack.BareEndpoint(t))
	must(t, err)
	t.Cleanup(func() { p.Close() })
	return p
}

// --- recording the calls of a run ---------------------------------------------------------------

// callOrder records the operations made, in order, for tests of what happens before what.
type callOrder struct {
	mu    sync.Mutex
	calls []string
}

// middleware is the SDK middleware that records each call.
func (o *callOrder) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("testCallOrder",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			o.mu.Lock()
			o.calls = append(o.calls, awsmiddleware.GetServiceID(ctx)+"."+middleware.GetOperationName(ctx))
			o.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// list is the calls so far, in order.
func (o *callOrder) list() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.calls...)
}

// recordOps lists the operations a run makes, as "service:Operation" in SigV4 service names,
// the proxy's keys.
type recordOps struct {
	mu  sync.Mutex
	ops map[string]bool
}

// sigV4Names are the SDK's service IDs as SigV4 names them.
var sigV4Names = map[string]string{
	"EC2": "ec2", "ECS": "ecs", "ECR": "ecr", "Elastic Load Balancing v2": "elasticloadbalancing", "IAM": "iam",
	"KMS": "kms", "CloudWatch Logs": "logs", "CloudWatch": "monitoring", "Secrets Manager": "secretsmanager",
	"ServiceDiscovery": "servicediscovery", "Application Auto Scaling": "application-autoscaling", "STS": "sts",
}

// middleware is the SDK middleware that records each operation.
func (r *recordOps) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("testRecordOps",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			r.mu.Lock()
			r.ops[sigV4Names[awsmiddleware.GetServiceID(ctx)]+":"+middleware.GetOperationName(ctx)] = true
			r.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// creates are the calls of a run that bring something into being.
func (r *recordOps) creates() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for op := range r.ops {
		name := op[strings.Index(op, ":")+1:]
		// Put* calls are upserts: sending one twice changes nothing.
		for _, p := range []string{"Create", "Allocate", "Register", "Attach", "Associate", "Authorize"} {
			if strings.HasPrefix(name, p) && name != "CreateTags" {
				out = append(out, op)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// capture records the serialized request bodies of one operation, for the fields an emulator
// accepts but drops: the test then asserts what tapctl sent, since it cannot read it back.
type capture struct {
	service, operation string
	mu                 sync.Mutex
	bodies             [][]byte
}

// newCapture records the bodies of one operation (SDK service ID and operation name).
func newCapture(service, operation string) *capture {
	return &capture{service: service, operation: operation}
}

// middleware is the SDK middleware that keeps a copy of each body it sends.
func (c *capture) middleware(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("testCapture"+c.operation,
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			if awsmiddleware.GetServiceID(ctx) == c.service && middleware.GetOperationName(ctx) == c.operation {
				if req, ok := in.Request.(*smithyhttp.Request); ok && req.GetStream() != nil {
					body, err := io.ReadAll(req.GetStream())
					if err != nil {
						return middleware.FinalizeOutput{}, middleware.Metadata{}, err
					}
					if in.Request, err = req.SetStream(bytes.NewReader(body)); err != nil {
						return middleware.FinalizeOutput{}, middleware.Metadata{}, err
					}
					c.mu.Lock()
					c.bodies = append(c.bodies, body)
					c.mu.Unlock()
				}
			}
			return next.HandleFinalize(ctx, in)
		}), middleware.Before)
}

// jsonBodies decodes every captured JSON body.
func (c *capture) jsonBodies(t *testing.T) []map[string]any {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]any
	for _, b := range c.bodies {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s.%s body is not JSON: %v: %s", c.service, c.operation, err, b)
		}
		out = append(out, m)
	}
	return out
}

// --- reading a run's output ---------------------------------------------------------------------

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := bytes.Split(bytes.TrimRight([]byte(s), "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// oneLineError checks a failed run's stderr: one line, holding want.
func oneLineError(t *testing.T, code int, stderr, want string) {
	t.Helper()
	msg := strings.TrimSpace(stderr)
	if code == 0 || strings.Contains(msg, "\n") || !strings.Contains(msg, want) {
		t.Errorf("exit %d, stderr %q: want a non-zero exit and one line containing %q", code, msg, want)
	}
}

// Each bad input gives one line on stderr, a non-zero exit, and no AWS call at all.
func assertRefused(t *testing.T, r result, want string) {
	t.Helper()
	if r.Code == 0 {
		t.Fatalf("exit 0, want a failure mentioning %q", want)
	}
	msg := strings.TrimSpace(r.Stderr)
	if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, want) {
		t.Errorf("stderr = %q, want one line containing %q", msg, want)
	}
	if strings.Contains(msg, "goroutine ") || strings.Contains(msg, "panic") {
		t.Errorf("stderr holds a stack trace: %q", msg)
	}
	if m, rd := r.Calls.Totals(); m+rd != 0 {
		t.Errorf("made %d mutating and %d read calls before refusing", m, rd)
	}
}

// logLines are the JSON log lines of a run.
func logLines(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// --- small things -------------------------------------------------------------------------------

// must fails the test on an error.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// equal reports whether a and b hold the same strings, in any order.
func equal(a, b []string) bool {
	a, b = append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(a)
	sort.Strings(b)
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
