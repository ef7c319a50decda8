package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

const target = "arn:aws:ecs:us-east-1:123456789012:task-definition/payment-pr1:2"
const old = "arn:aws:ecs:us-east-1:123456789012:task-definition/payment-pr1:1"

// recorded replays answers of each kind in order; the last one repeats.
type recorded struct {
	services    []ecstypes.Service
	deployments []ecstypes.ServiceDeployment
	listErr     error
	listCalls   int
	describes   int
}

func (r *recorded) DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	i := min(r.describes, len(r.services)-1)
	r.describes++
	return &ecs.DescribeServicesOutput{Services: []ecstypes.Service{r.services[i]}}, nil
}

func (r *recorded) ListServiceDeployments(context.Context, *ecs.ListServiceDeploymentsInput, ...func(*ecs.Options)) (*ecs.ListServiceDeploymentsOutput, error) {
	r.listCalls++
	if r.listErr != nil {
		return nil, r.listErr
	}
	return &ecs.ListServiceDeploymentsOutput{ServiceDeployments: []ecstypes.ServiceDeploymentBrief{{
		ServiceDeploymentArn: aws.String("arn:sd/1"), CreatedAt: aws.Time(time.Unix(1000, 0)),
	}}}, nil
}

func (r *recorded) DescribeServiceDeployments(context.Context, *ecs.DescribeServiceDeploymentsInput, ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error) {
	i := min(r.listCalls-1, len(r.deployments)-1)
	return &ecs.DescribeServiceDeploymentsOutput{ServiceDeployments: []ecstypes.ServiceDeployment{r.deployments[i]}}, nil
}

// fakeClock advances only when the waiter sleeps: no test waits in real time.
type fakeClock struct {
	now   time.Time
	slept []time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	return nil
}

func waiterFor(api API, clock *fakeClock) *Waiter {
	return &Waiter{API: api, Cluster: "c", Service: "payment-service-pr1", Target: target, Since: clock.now,
		Interval: 15 * time.Second, Timeout: time.Minute, Now: clock.Now, Sleep: clock.Sleep, Progress: func(Progress) {}}
}

func service(taskDef string, running int32, deployments ...ecstypes.Deployment) ecstypes.Service {
	return ecstypes.Service{TaskDefinition: aws.String(taskDef), RunningCount: running, DesiredCount: 2, Deployments: deployments}
}

func deployment(status, taskDef string, rollout ecstypes.DeploymentRolloutState, reason string) ecstypes.Deployment {
	return ecstypes.Deployment{Status: aws.String(status), TaskDefinition: aws.String(taskDef), RolloutState: rollout, RolloutStateReason: aws.String(reason)}
}

func TestWaitSucceedsFromServiceDeployments(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	api := &recorded{
		services: []ecstypes.Service{service(target, 2)},
		deployments: []ecstypes.ServiceDeployment{
			{Status: ecstypes.ServiceDeploymentStatusInProgress, LifecycleStage: ecstypes.ServiceDeploymentLifecycleStageBakeTime},
			{Status: ecstypes.ServiceDeploymentStatusSuccessful},
		},
	}
	var seen []Progress
	w := waiterFor(api, clock)
	w.Progress = func(p Progress) { seen = append(seen, p) }
	out, err := w.Wait(context.Background())
	if err != nil || !out.Succeeded {
		t.Fatalf("outcome %+v, err %v", out, err)
	}
	if len(clock.slept) != 1 || clock.slept[0] != 15*time.Second {
		t.Errorf("slept %v, want one poll interval", clock.slept)
	}
	if seen[0].Stage != "BAKE_TIME" || !strings.Contains(seen[0].String(), "IN_PROGRESS/BAKE_TIME") {
		t.Errorf("progress = %+v", seen[0])
	}
}

func TestWaitReportsARollbackFromServiceDeployments(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	api := &recorded{
		services: []ecstypes.Service{service(target, 2)},
		deployments: []ecstypes.ServiceDeployment{{
			Status:   ecstypes.ServiceDeploymentStatusRollbackSuccessful,
			Rollback: &ecstypes.Rollback{Reason: aws.String("alarm payment-5xx-pr1 went into ALARM")},
		}},
	}
	out, err := waiterFor(api, clock).Wait(context.Background())
	if err != nil || !out.RolledBack || !strings.Contains(out.Reason, "payment-5xx") {
		t.Fatalf("outcome %+v, err %v", out, err)
	}
}

// Where the service-deployment API is not served (moto), DescribeServices decides.
func TestWaitFallsBackToDescribeServices(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	api := &recorded{
		listErr: errors.New("not implemented"),
		services: []ecstypes.Service{
			service(target, 1, deployment("PRIMARY", target, ecstypes.DeploymentRolloutStateInProgress, ""), deployment("ACTIVE", old, ecstypes.DeploymentRolloutStateCompleted, "")),
			service(target, 2, deployment("PRIMARY", target, ecstypes.DeploymentRolloutStateCompleted, "")),
		},
	}
	out, err := waiterFor(api, clock).Wait(context.Background())
	if err != nil || !out.Succeeded {
		t.Fatalf("outcome %+v, err %v", out, err)
	}
	if api.listCalls != 1 {
		t.Errorf("ListServiceDeployments called %d times; once it is known to be missing it should not be asked again", api.listCalls)
	}
}

func TestWaitSeesACircuitBreakerRollbackInDescribeServices(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	api := &recorded{
		listErr: &smithy.GenericAPIError{Code: "UnknownOperationException"},
		services: []ecstypes.Service{
			service(old, 2, deployment("PRIMARY", old, ecstypes.DeploymentRolloutStateInProgress, ""),
				deployment("ACTIVE", target, ecstypes.DeploymentRolloutStateFailed, "ECS deployment circuit breaker: tasks failed to start")),
		},
	}
	out, err := waiterFor(api, clock).Wait(context.Background())
	if err != nil || !out.RolledBack || !strings.Contains(out.Reason, "circuit breaker") {
		t.Fatalf("outcome %+v, err %v", out, err)
	}
}

func TestWaitTimesOutWithoutSleepingForReal(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	api := &recorded{
		services: []ecstypes.Service{service(target, 1, deployment("PRIMARY", target, ecstypes.DeploymentRolloutStateInProgress, ""),
			deployment("ACTIVE", old, ecstypes.DeploymentRolloutStateCompleted, ""))},
		deployments: []ecstypes.ServiceDeployment{{Status: ecstypes.ServiceDeploymentStatusInProgress}},
	}
	start := time.Now()
	_, err := waiterFor(api, clock).Wait(context.Background())
	var timeout ErrTimeout
	if !errors.As(err, &timeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if elapsed := clock.now.Sub(time.Unix(1000, 0)); elapsed > time.Minute {
		t.Errorf("waited %s of fake time past a 1m timeout", elapsed)
	}
	if time.Since(start) > time.Second {
		t.Error("the wait slept in real time")
	}
}

// The circuit breaker has stopped the target (DescribeServices: FAILED) while the service
// deployment still reads ROLLBACK_IN_PROGRESS: the first poll ends the wait, rolled back.
func TestWaitEndsAtOnceWhenTheCircuitBreakerFailedTheTarget(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1000, 0)}
	api := &recorded{
		services: []ecstypes.Service{service(target, 0,
			deployment("PRIMARY", target, ecstypes.DeploymentRolloutStateFailed, "ECS deployment circuit breaker: tasks failed to start."),
			deployment("ACTIVE", old, ecstypes.DeploymentRolloutStateCompleted, ""))},
		deployments: []ecstypes.ServiceDeployment{{Status: ecstypes.ServiceDeploymentStatusRollbackInProgress}},
	}
	out, err := waiterFor(api, clock).Wait(context.Background())
	if err != nil || !out.RolledBack || !strings.Contains(out.Reason, "circuit breaker") {
		t.Fatalf("outcome %+v, err %v", out, err)
	}
	if api.describes != 1 || len(clock.slept) != 0 {
		t.Errorf("%d polls and sleeps %v, want the first poll to end the wait", api.describes, clock.slept)
	}
}
