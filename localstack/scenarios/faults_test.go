package scenarios

import (
	"context"
	"errors"
	"flag"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go/middleware"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/localstack"
)

// With the answer of each kind of create call lost once (AWS made the resource, tapctl never
// heard), up ends with exactly one of each resource, and down leaves nothing. The create calls
// are those a fresh up makes, recorded first, so a new kind of resource is covered by itself.
// Each run loses the answers of several kinds at once, each of another step (spread over the
// sorted list), so the ~28 kinds take 7 ups rather than 28; a failing run names its kinds, and
// one kind is run alone with -run 'TestLostCreateAnswersLeaveExactlyOneOfEach/^KIND$'.
func TestLostCreateAnswersLeaveExactlyOneOfEach(t *testing.T) {
	t.Parallel() // each on its own proxy and environments; most of a run waits on the emulator
	rec := &recordOps{ops: map[string]bool{}}
	probe, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, probe)
	tapctlWith(t, dir, []func(*middleware.Stack) error{rec.middleware}, "up", "--env", probe, "--no-wait").mustSucceed(t)
	tapctl(t, dir, "down", "--yes", "--env", probe).mustSucceed(t)
	creates := rec.creates()
	if len(creates) < 20 {
		t.Fatalf("only %d kinds of create recorded: %v", len(creates), creates)
	}
	t.Logf("create calls of a fresh up: %v", creates)
	groups := lostAnswerGroups(creates, 7)
	// Four at a time whatever -parallel says: most of a run is waiting on the emulator.
	slots, wg := make(chan struct{}, 4), sync.WaitGroup{}
	for _, ops := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			t.Run(strings.Join(ops, "+"), func(t *testing.T) { lostAnswersOnce(t, ops) })
		}()
	}
	wg.Wait()
}

// lostAnswerGroups deals the sorted kinds round-robin into n runs, so that one run's kinds are
// far apart in the list (different services and steps). A run filter naming one kind runs it
// alone.
func lostAnswerGroups(creates []string, n int) [][]string {
	for _, op := range creates {
		if matchesRunFilter("TestLostCreateAnswersLeaveExactlyOneOfEach/" + op) {
			return [][]string{{op}}
		}
	}
	groups := make([][]string, min(n, len(creates)))
	for i, op := range creates {
		groups[i%len(groups)] = append(groups[i%len(groups)], op)
	}
	return groups
}

// matchesRunFilter reports whether -test.run names exactly this test and subtest.
func matchesRunFilter(name string) bool {
	run := flag.Lookup("test.run")
	return run != nil && strings.Contains(run.Value.String(), "/^"+name[strings.Index(name, "/")+1:]+"$")
}

func lostAnswersOnce(t *testing.T, ops []string) {
	p := startProxy(t)
	for _, op := range ops {
		p.DropResponse(op, 1)
	}
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	up := tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--no-wait")
	if up.Code != 0 {
		t.Fatalf("up with the answers of %v lost exited %d:\n%s", ops, up.Code, tail(up.Stderr, 2))
	}
	for _, op := range ops {
		if p.Dropped(op) != 1 {
			t.Fatalf("the answer of %s was not dropped", op)
		}
	}
	if !strings.Contains(up.Stderr, "the answer to a create was lost") && !strings.Contains(up.Stderr, "after connection error") {
		t.Errorf("the log does not say the answers of %v were lost and retried", ops)
	}
	assertInventory(t, dir, env)
	tapctl(t, dir, "down", "--yes", "--env", env).mustSucceed(t)
	if left := leftovers(t, env); len(left) != 0 {
		t.Errorf("down left %v", left)
	}
}

// retryLines are the info lines about retries: the first of each code, the summary.
func retryLines(t *testing.T, stderr string) []string {
	var out []string
	for _, l := range logLines(t, stderr) {
		msg, _ := l["message"].(string)
		if strings.HasPrefix(msg, "retrying ") || strings.HasPrefix(msg, "retried ") || strings.HasPrefix(msg, "gave up retrying") {
			out = append(out, msg)
		}
	}
	return out
}

// faultSeed is TAPCTL_FAULT_SEED when set (to replay a failure), else a new seed; it is logged.
func faultSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("TAPCTL_FAULT_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		must(t, err)
		seed = n
	}
	t.Logf("fault seed %d (TAPCTL_FAULT_SEED=%d draws the same faults; which call meets which draw also depends on the steps' interleaving)", seed, seed)
	return seed
}

// assertRetriesLogged checks that a run's log names what it retried, without flooding: at info
// level one line per error code and one summary, however many retries there were.
func assertRetriesLogged(t *testing.T, what string, r result, codes ...string) {
	t.Helper()
	lines := retryLines(t, r.Stderr)
	summary := ""
	for _, l := range lines {
		if strings.HasPrefix(l, "retried ") {
			summary = l
		}
	}
	if summary == "" {
		t.Errorf("%s: no retry summary in the log; retry lines: %v", what, lines)
		return
	}
	for _, code := range codes {
		if !strings.Contains(summary, code) {
			t.Errorf("%s: the retry summary does not name %s: %s", what, code, summary)
		}
	}
	distinct := strings.Count(summary, ";") + 1
	if len(lines) > distinct+2 {
		t.Errorf("%s: %d info lines about retries for %d codes: %v", what, len(lines), distinct, lines)
	}
	t.Logf("%s: %d retry lines; %s", what, len(lines), summary)
}

// With 20 % of calls throttled and 5 % answered 500/503, in each service's own error shape, a
// fresh up, a second up and a down all succeed, nothing is made twice and nothing is left.
func TestUpAndDownInBadWeather(t *testing.T) {
	t.Parallel() // each on its own proxy and environments; most of a run waits on the emulator
	p := startProxy(t)
	p.SetFaults(localstack.Faults{Seed: faultSeed(t), ThrottleRate: 0.20, ServerErrorRate: 0.05})
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)

	up := tapctlAt(t, p.URL, dir, nil, "up", "--env", env).mustSucceed(t)
	assertInventory(t, dir, env)
	assertRetriesLogged(t, "up", up, "RequestLimitExceeded", "ThrottlingException", "Throttling ")

	again := tapctlAt(t, p.URL, dir, nil, "up", "--env", env).mustSucceed(t)
	for _, call := range again.Calls.Mutating() {
		if strings.Contains(call, ".Create") || strings.Contains(call, ".Allocate") || strings.Contains(call, ".Register") {
			t.Errorf("second up created something: %s", call)
		}
	}
	assertInventory(t, dir, env)

	down := tapctlAt(t, p.URL, dir, nil, "down", "--yes", "--env", env).mustSucceed(t)
	if left := leftovers(t, env); len(left) != 0 {
		t.Errorf("down left %v", left)
	}
	assertRetriesLogged(t, "down", down)
	injected := p.InjectedCodes()
	total := 0
	for _, n := range injected {
		total += n
	}
	t.Logf("injected %d faults: %v", total, injected)
}

// With AWS's eventual consistency on — each ID "not found" to the first call that names it after
// its create, the next DeleteSubnet, DeleteSecurityGroup and DeleteVpc after a related delete
// refused with DependencyViolation, each new role refused to the first ECS service call that
// names it — up and down both succeed. Each of these answers is certain to be met: none is a
// window of time that a slow run could miss.
func TestUpAndDownUnderEventualConsistency(t *testing.T) {
	t.Parallel() // each on its own proxy and environments; most of a run waits on the emulator
	p := startProxy(t)
	p.SetFaults(localstack.Faults{NotFoundOnceAfterCreate: true, DependencyViolationOnceAfterDelete: true, RoleUnassumableOnceAfterCreate: true})
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)

	up := tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--no-wait").mustSucceed(t)
	assertInventory(t, dir, env)
	assertRetriesLogged(t, "up", up, "InvalidParameterException", "InvalidVpcID.NotFound", "TargetGroupNotFound")

	down := tapctlAt(t, p.URL, dir, nil, "down", "--yes", "--env", env).mustSucceed(t)
	if left := leftovers(t, env); len(left) != 0 {
		t.Errorf("down left %v", left)
	}
	assertRetriesLogged(t, "down", down, "DependencyViolation")

	injected, fired := p.InjectedCodes(), p.FaultsFired()
	t.Logf("injected: %v; fired: %v", injected, fired)
	for _, want := range []string{"CreateService InvalidParameterException", "DeleteSubnet DependencyViolation", "DeleteSecurityGroup DependencyViolation", "DeleteVpc DependencyViolation"} {
		if injected[want] == 0 {
			t.Errorf("never injected %s", want)
		}
	}
	for _, fault := range []string{localstack.FaultNotFound, localstack.FaultDependencyViolation, localstack.FaultRoleUnassumable} {
		if fired[fault] == 0 {
			t.Errorf("the fault %q never answered", fault)
		}
	}
}

// Every injected error reaches the SDK as AWS sends it: each protocol's throttling code, parsed
// and classified as throttling, and 500/503 as retryable server errors.
func TestInjectedErrorsAreParsedAsAWSSendsThem(t *testing.T) {
	p := startProxy(t)
	c, ctx := clientsAt(t, p.URL), context.Background()
	calls := map[string]func() error{
		"RequestLimitExceeded": func() error {
			_, err := c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}, func(o *ec2.Options) { o.RetryMaxAttempts = 1 })
			return err
		},
		"Throttling": func() error {
			_, err := c.ELB.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{}, func(o *elbv2.Options) { o.RetryMaxAttempts = 1 })
			return err
		},
		"ThrottlingException": func() error {
			_, err := c.ECS.ListClusters(ctx, &ecs.ListClustersInput{}, func(o *ecs.Options) { o.RetryMaxAttempts = 1 })
			return err
		},
		"TooManyRequestsException": func() error {
			_, err := c.AppMesh.ListMeshes(ctx, &appmesh.ListMeshesInput{}, func(o *appmesh.Options) { o.RetryMaxAttempts = 1 })
			return err
		},
	}
	throttles := retry.IsErrorThrottles(retry.DefaultThrottles)
	retryables := retry.IsErrorRetryables(retry.DefaultRetryables)
	p.SetFaults(localstack.Faults{ThrottleRate: 1})
	for code, call := range calls {
		err := call()
		t.Logf("%s: %v", code, err)
		if cloud.ErrorCode(err) != code || !throttles.IsErrorThrottle(err).Bool() {
			t.Errorf("throttled: got %v, want %s classified as throttling", err, code)
		}
	}
	p.SetFaults(localstack.Faults{ServerErrorRate: 1, Seed: 1})
	for _, call := range calls {
		err := call()
		var status interface{ HTTPStatusCode() int }
		if !errors.As(err, &status) || status.HTTPStatusCode() < 500 || !retryables.IsErrorRetryable(err).Bool() {
			t.Errorf("server error: got %v, want a retryable 500 or 503", err)
		}
	}
}
