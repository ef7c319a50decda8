// Package deploy ships a new image of one service (tapctl deploy), returns it to the revision
// that served before (tapctl rollback), and follows the deployment until ECS says how it ended.
package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/tapctl/tapctl/cloud"
)

// API is what following a deployment needs from ECS; tests replay recorded answers through it.
type API interface {
	DescribeServices(context.Context, *ecs.DescribeServicesInput, ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	ListServiceDeployments(context.Context, *ecs.ListServiceDeploymentsInput, ...func(*ecs.Options)) (*ecs.ListServiceDeploymentsOutput, error)
	DescribeServiceDeployments(context.Context, *ecs.DescribeServiceDeploymentsInput, ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error)
}

// Progress is one look at a deployment.
type Progress struct {
	Service                   string
	State, Stage              string // service deployment status and lifecycle stage, or the rollout state
	Running, Desired, Pending int32
	Elapsed                   time.Duration
}

func (p Progress) String() string {
	stage := p.State
	if p.Stage != "" {
		stage += "/" + p.Stage
	}
	return fmt.Sprintf("%s: %s, %d/%d running, %d pending (%s)", p.Service, stage, p.Running, p.Desired, p.Pending, p.Elapsed.Round(time.Second))
}

// Outcome is how a deployment ended.
type Outcome struct {
	Succeeded  bool
	RolledBack bool
	Status     string
	Reason     string
}

// Waiter follows one deployment of one service until it ends or the timeout passes.
type Waiter struct {
	API              API
	Cluster, Service string
	Target           string    // the task definition ARN the deployment rolls out
	Since            time.Time // when the deployment was asked for
	Interval         time.Duration
	Timeout          time.Duration
	Now              func() time.Time
	Sleep            func(context.Context, time.Duration) error
	Progress         func(Progress)

	deploymentsAPIGone bool
}

// NewWaiter follows with the real clock, polling every 10 s.
func NewWaiter(api API, cluster, service, target string, timeout time.Duration) *Waiter {
	return &Waiter{API: api, Cluster: cluster, Service: service, Target: target, Since: time.Now(),
		Interval: 10 * time.Second, Timeout: timeout, Now: time.Now, Sleep: sleep, Progress: func(Progress) {}}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// ErrTimeout is returned when the deployment has not ended within the timeout.
type ErrTimeout struct {
	Service string
	Last    Progress
}

func (e ErrTimeout) Error() string {
	return fmt.Sprintf("deployment of %s did not finish in time (last seen %s); it goes on in ECS: follow it with tapctl status", e.Service, e.Last)
}

// Wait polls until the deployment ends. It asks the service-deployment API (ListServiceDeployments
// and DescribeServiceDeployments) where it is served and concludes from DescribeServices where
// it is not, which also feeds the task counts.
func (w *Waiter) Wait(ctx context.Context) (Outcome, error) {
	start := w.Now()
	var last Progress
	for {
		p, outcome, done, err := w.poll(ctx)
		if err != nil {
			return Outcome{}, err
		}
		p.Elapsed = w.Now().Sub(start)
		last = p
		w.Progress(p)
		if done {
			return outcome, nil
		}
		if w.Now().Sub(start)+w.Interval > w.Timeout {
			return Outcome{}, ErrTimeout{Service: w.Service, Last: last}
		}
		if err := w.Sleep(ctx, w.Interval); err != nil {
			return Outcome{}, err
		}
	}
}

func (w *Waiter) poll(ctx context.Context) (Progress, Outcome, bool, error) {
	out, err := w.API.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(w.Cluster), Services: []string{w.Service}})
	if err != nil {
		return Progress{}, Outcome{}, false, fmt.Errorf("describing ECS service %s: %w", w.Service, err)
	}
	if len(out.Services) == 0 {
		return Progress{}, Outcome{}, false, fmt.Errorf("ECS service %s no longer exists", w.Service)
	}
	svc := out.Services[0]
	p := Progress{Service: w.Service, Running: svc.RunningCount, Desired: svc.DesiredCount, Pending: svc.PendingCount}
	// The circuit breaker's (or an alarm's) verdict on the target ends the wait at once: ECS
	// has decided to roll back, even while the service deployment still reads ROLLBACK_IN_PROGRESS.
	if outcome, failed := failedDeployment(svc, w.Target); failed {
		p.State = outcome.Status
		return p, outcome, true, nil
	}

	if !w.deploymentsAPIGone {
		outcome, state, stage, done, err := w.fromServiceDeployments(ctx)
		if err == nil && state != "" {
			p.State, p.Stage = state, stage
			return p, outcome, done, nil
		}
		if err != nil {
			// Not served here (an emulator): DescribeServices alone decides from now on.
			w.deploymentsAPIGone = true
		}
	}
	outcome, done := fromServiceDescription(svc, w.Target)
	p.State = rolloutState(svc, w.Target)
	return p, outcome, done, nil
}

// fromServiceDeployments reads the newest service deployment started since the deploy.
func (w *Waiter) fromServiceDeployments(ctx context.Context) (Outcome, string, string, bool, error) {
	fewRetries := func(o *ecs.Options) { o.RetryMaxAttempts = 2 }
	list, err := w.API.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{
		Cluster: aws.String(w.Cluster), Service: aws.String(w.Service),
		CreatedAt: &ecstypes.CreatedAt{After: aws.Time(w.Since.Add(-time.Minute))},
	}, fewRetries)
	if err != nil {
		if cloud.ErrorCode(err) == "" || cloud.HasCode(err, "UnknownOperationException", "InternalFailure", "NotImplemented") {
			return Outcome{}, "", "", false, err
		}
		return Outcome{}, "", "", false, nil // a real answer we cannot use now: try DescribeServices
	}
	var newest *ecstypes.ServiceDeploymentBrief
	for i := range list.ServiceDeployments {
		d := &list.ServiceDeployments[i]
		if newest == nil || aws.ToTime(d.CreatedAt).After(aws.ToTime(newest.CreatedAt)) {
			newest = d
		}
	}
	if newest == nil {
		return Outcome{}, "", "", false, nil
	}
	desc, err := w.API.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{aws.ToString(newest.ServiceDeploymentArn)}}, fewRetries)
	if err != nil || len(desc.ServiceDeployments) == 0 {
		return Outcome{}, "", "", false, nil
	}
	d := desc.ServiceDeployments[0]
	status, stage, reason := string(d.Status), string(d.LifecycleStage), aws.ToString(d.StatusReason)
	if d.Rollback != nil && aws.ToString(d.Rollback.Reason) != "" {
		reason = aws.ToString(d.Rollback.Reason)
	}
	switch d.Status {
	case ecstypes.ServiceDeploymentStatusSuccessful:
		return Outcome{Succeeded: true, Status: status}, status, stage, true, nil
	case ecstypes.ServiceDeploymentStatusRollbackSuccessful:
		return Outcome{RolledBack: true, Status: status, Reason: reason}, status, stage, true, nil
	case ecstypes.ServiceDeploymentStatusRollbackFailed, ecstypes.ServiceDeploymentStatusStopped:
		return Outcome{Status: status, Reason: reason}, status, stage, true, nil
	}
	return Outcome{}, status, stage, false, nil
}

// fromServiceDescription concludes from DescribeServices (a failed deployment of the target is
// seen before): done when the service runs the target revision in one completed deployment with
// all its tasks; rolled back when the service went back to another revision.
func fromServiceDescription(svc ecstypes.Service, target string) (Outcome, bool) {
	if aws.ToString(svc.TaskDefinition) != target {
		return Outcome{RolledBack: true, Status: "ROLLED_BACK", Reason: "ECS returned the service to " + aws.ToString(svc.TaskDefinition)}, true
	}
	if len(svc.Deployments) == 1 && svc.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateCompleted && svc.RunningCount >= svc.DesiredCount {
		return Outcome{Succeeded: true, Status: "COMPLETED"}, true
	}
	return Outcome{}, false
}

// failedDeployment is a deployment of the target that ECS reports FAILED: the circuit breaker
// (or an alarm) stopped it, and with rollback on ECS returns the service to the last
// completed deployment.
func failedDeployment(svc ecstypes.Service, target string) (Outcome, bool) {
	for _, d := range svc.Deployments {
		if aws.ToString(d.TaskDefinition) == target && d.RolloutState == ecstypes.DeploymentRolloutStateFailed {
			return Outcome{RolledBack: true, Status: "FAILED", Reason: aws.ToString(d.RolloutStateReason)}, true
		}
	}
	return Outcome{}, false
}

func rolloutState(svc ecstypes.Service, target string) string {
	for _, d := range svc.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			return string(d.RolloutState)
		}
	}
	return "PENDING"
}
