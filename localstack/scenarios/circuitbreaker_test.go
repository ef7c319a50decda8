package scenarios

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/tapctl/tapctl/localstack"
	"github.com/tapctl/tapctl/naming"
)

const circuitBreakerOn = `{"enable":true,"rollback":true}`

// circuitBreakers lists, per captured body that carries a deployment configuration, its
// deploymentCircuitBreaker and strategy as sent.
func circuitBreakers(t *testing.T, c *capture) (breakers, strategies []string) {
	t.Helper()
	for _, b := range c.jsonBodies(t) {
		dc, ok := b["deploymentConfiguration"].(map[string]any)
		if !ok {
			continue
		}
		raw, _ := json.Marshal(dc["deploymentCircuitBreaker"])
		breakers = append(breakers, string(raw))
		strategies = append(strategies, dc["strategy"].(string))
	}
	return breakers, strategies
}

func assertAllOn(t *testing.T, what string, breakers []string, wantCalls int) {
	t.Helper()
	if len(breakers) < wantCalls {
		t.Errorf("%s: %d calls with a deployment configuration, want at least %d", what, len(breakers), wantCalls)
	}
	for _, b := range breakers {
		if b != circuitBreakerOn {
			t.Errorf("%s sends deploymentCircuitBreaker %s, want %s", what, b, circuitBreakerOn)
		}
	}
}

// The deployment circuit breaker with rollback is on in both strategies (ECS developer guide,
// "Amazon ECS deployment failure detection": it supports rolling and blue/green). moto drops it
// on CreateService, so what tapctl sends is asserted; UpdateService stores it, so the service is
// read back too. An existing blue/green service without it is corrected by the next up.
func TestCircuitBreakerInBothStrategiesRequestShape(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	ctx, c, n := context.Background(), clients(t), naming.Names{Env: env}
	created, updated := newCapture("ECS", "CreateService"), newCapture("ECS", "UpdateService")
	captures := []func(*middleware.Stack) error{created.middleware, updated.middleware}
	tapctlWith(t, dir, captures, "up", "--env", env, "--no-wait").mustSucceed(t)
	breakers, strategies := circuitBreakers(t, created)
	assertAllOn(t, "blue/green CreateService", breakers, 3)
	if strings.Join(strategies, ",") != "BLUE_GREEN,BLUE_GREEN,BLUE_GREEN" {
		t.Errorf("CreateService strategies %v", strategies)
	}
	breakers, _ = circuitBreakers(t, updated) // moto dropped it on create: up corrects at once
	assertAllOn(t, "blue/green UpdateService", breakers, 0)
	assertBreakersReadBack(t, env, ecstypes.DeploymentStrategyBlueGreen)

	// A blue/green service made before the breaker was on in both strategies.
	_, err := c.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(n.Cluster()), Service: aws.String(n.Service("payment")),
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{
			Strategy: ecstypes.DeploymentStrategyBlueGreen, BakeTimeInMinutes: aws.Int32(5), MinimumHealthyPercent: aws.Int32(0), MaximumPercent: aws.Int32(200),
			Alarms:                   &ecstypes.DeploymentAlarms{AlarmNames: []string{n.Alarm5xx("payment"), n.AlarmUnhealthy("payment")}, Enable: true, Rollback: true},
			DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: false, Rollback: false},
		}})
	must(t, err)
	updated = newCapture("ECS", "UpdateService")
	fix := tapctlWith(t, dir, []func(*middleware.Stack) error{updated.middleware}, "up", "--env", env, "--no-wait").mustSucceed(t)
	if got := fix.Calls.Mutating(); !equal(got, []string{"ECS.UpdateService"}) {
		t.Errorf("correcting the breaker made %v, want one UpdateService", got)
	}
	breakers, _ = circuitBreakers(t, updated)
	assertAllOn(t, "the correcting UpdateService", breakers, 1)

	updated = newCapture("ECS", "UpdateService")
	tapctlWith(t, dir, []func(*middleware.Stack) error{updated.middleware}, "up", "--env", env, "--deploy-strategy", "rolling", "--no-wait").mustSucceed(t)
	breakers, strategies = circuitBreakers(t, updated)
	assertAllOn(t, "rolling UpdateService", breakers, 3)
	for _, s := range strategies {
		if s != "ROLLING" {
			t.Errorf("switch to rolling sent strategy %s", s)
		}
	}
	assertBreakersReadBack(t, env, ecstypes.DeploymentStrategyRolling)
	if m := tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t).Calls.Mutating(); len(m) != 0 {
		t.Errorf("up after the switch made %v", m)
	}
}

func assertBreakersReadBack(t *testing.T, env string, strategy ecstypes.DeploymentStrategy) {
	t.Helper()
	for _, svc := range describeServices(t, env) {
		dc := svc.DeploymentConfiguration
		if dc == nil || dc.Strategy != strategy || dc.DeploymentCircuitBreaker == nil || !dc.DeploymentCircuitBreaker.Enable || !dc.DeploymentCircuitBreaker.Rollback {
			t.Errorf("%s reads back %+v, want %s with the circuit breaker and rollback", aws.ToString(svc.ServiceName), dc, strategy)
		}
	}
}

// An image whose tasks cannot start: ECS's circuit breaker fails the deployment and rolls it
// back, and deploy ends at its first poll with exit 3 and the reason, whether DescribeServices
// already says FAILED while the service deployment still reads ROLLBACK_IN_PROGRESS, or the
// service deployment says ROLLBACK_SUCCESSFUL. The emulator runs no tasks: the proxy answers
// as ECS would. Polls are counted, not timed; --timeout is long enough for several.
func TestDeployOfAnImageThatCannotStartEndsRolledBackAtOnce(t *testing.T) {
	env, dir, p := newEnvName(t), t.TempDir(), startProxy(t)
	downAtCleanup(t, dir, env)
	n := naming.Names{Env: env}
	tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--no-wait").mustSucceed(t)

	const breaker = "ECS deployment circuit breaker: tasks failed to start."
	const rollback = "Service deployment rolled back because the circuit breaker threshold was exceeded."
	p.ReportDeployment(n.Service("payment"), localstack.DeploymentReport{RolloutState: "FAILED", Reason: breaker, Status: "ROLLBACK_IN_PROGRESS"})
	p.ReportDeployment(n.Service("order"), localstack.DeploymentReport{Status: "ROLLBACK_SUCCESSFUL", RollbackReason: rollback})
	for svc, reason := range map[string]string{"payment": breaker, "order": rollback} {
		r := tapctlAt(t, p.URL, dir, nil, "deploy", "--env", env, "--service", svc, "--image", "registry.example.com/cannot-start:1", "--timeout", "1m")
		if r.Code != 3 || !strings.Contains(r.Stderr, reason) {
			t.Errorf("deploy of %s: exit %d, stderr %q; want 3 with %q", svc, r.Code, r.Stderr, reason)
		}
		// One DescribeServices finds the service; each poll makes one more.
		if polls := r.Calls.Snapshot()["ECS.DescribeServices"] - 1; polls != 1 {
			t.Errorf("deploy of %s polled %d times, want its first poll to end it", svc, polls)
		}
	}
}
