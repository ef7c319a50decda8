package provision

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/tapctl/tapctl/catalog"
)

// servingStep makes up return when the environment serves, not merely when its tasks run: every
// ECS service runs its desired count, the load balancer is active, and each service's target
// group holds as many healthy targets as the service wants. Until then a smoke test right after
// up meets 503s. Bounded by --timeout, skipped with --no-wait. It owns no resource.
//
// It is the only step that waits for the load balancer: listener, rules, target groups and
// services are made while the load balancer provisions (as the AWS Load Balancer Controller
// does), and health checks begin once it is active.
type servingStep struct{ services []catalog.Service }

func (servingStep) Name() string { return "serving" }
func (s servingStep) DependsOn() []string {
	deps := []string{keyALB}
	for _, svc := range s.services {
		deps = append(deps, serviceKey(svc.Name, kindECSService), serviceKey(svc.Name, kindScaling))
	}
	return deps
}

func (s servingStep) Up(ctx context.Context, e *Env) error {
	if !e.Wait || len(s.services) == 0 {
		return nil
	}
	recorded, err := e.Require(keyALB)
	if err != nil {
		return err
	}
	lbARN := recorded.ID
	// The load balancer as this run found it (before a create, it found none): active then
	// spares the call that asks.
	found, err := findALB(ctx, e)
	if err != nil {
		return err
	}
	active := found != nil && aws.ToString(found.LoadBalancerArn) == lbARN && albActive(found)
	var names []string
	for _, svc := range s.services {
		names = append(names, e.Names.Service(svc.Name))
	}
	sum := e.Summary()
	news := sum.Changed("ECS service ") || sum.Changed("load balancer ") || sum.Changed("listener rule ") || !active
	if news {
		e.Log.Info().Strs("services", names).Dur("timeout", e.Timeouts.ServicesStable).
			Msg("waiting for the environment to serve: services running their count, load balancer active, targets healthy")
	}
	start := time.Now()
	waitCtx, cancel := context.WithTimeout(ctx, e.Timeouts.ServicesStable)
	defer cancel()
	err = s.wait(waitCtx, e, lbARN, active, names)
	if err != nil && waitCtx.Err() != nil && ctx.Err() == nil {
		// --timeout ran out: say, per service, what it is still waiting for.
		reportCtx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		return &NotServingError{Timeout: e.Timeouts.ServicesStable, Waiting: s.notServing(reportCtx, e, lbARN, names)}
	}
	if err != nil {
		return err
	}
	if news {
		e.Log.Info().Str("elapsed", time.Since(start).Round(time.Millisecond).String()).Msg("the environment serves")
	}
	return nil
}

// NotServingError is up's timeout while the environment does not serve yet: what each service
// and the load balancer still wait for, a line each.
type NotServingError struct {
	Timeout time.Duration
	Waiting []string
}

func (e *NotServingError) Error() string {
	return e.Summary() + ": " + strings.Join(e.Waiting, "; ")
}

// Summary is the error's first line; Waiting follows it, a line each.
func (e *NotServingError) Summary() string {
	return fmt.Sprintf("the environment does not serve after %s (raise --timeout, or use --no-wait)", e.Timeout)
}

// wait sits out, side by side, the services reaching their count, the load balancer becoming
// active and each service's targets turning healthy: each waiter polls on its own, so the wait
// ends within one poll of the last condition met. Its bound is the context's. An unchanged
// environment that served costs one DescribeTargetHealth per service.
func (s servingStep) wait(ctx context.Context, e *Env, lbARN string, lbActive bool, names []string) error {
	const unbounded = 24 * time.Hour // the context's deadline bounds every wait
	services, stableNow := s.stableAsFound(ctx, e)
	var waits []func(context.Context) error
	if !stableNow {
		// One look at the services for their target groups and counts, then their waiter.
		services = nil
		for _, batch := range chunks(names, 10) { // DescribeServices takes at most 10 services per call
			in := &ecs.DescribeServicesInput{Cluster: aws.String(e.Names.Cluster()), Services: batch}
			out, err := e.AWS.ECS.DescribeServices(ctx, in)
			if err != nil {
				return fmt.Errorf("describing ECS services %v: %w", batch, err)
			}
			services = append(services, out.Services...)
			waits = append(waits, func(ctx context.Context) error {
				stable := ecs.NewServicesStableWaiter(e.AWS.ECS, func(o *ecs.ServicesStableWaiterOptions) {
					o.MinDelay, o.MaxDelay = pollMinDelay, pollMaxDelay
				})
				if err := stable.Wait(ctx, in, unbounded); err != nil {
					return fmt.Errorf("waiting for ECS services %v to run their desired count: %w", batch, err)
				}
				return nil
			})
		}
	}
	if !lbActive {
		waits = append(waits, func(ctx context.Context) error {
			active := elbv2.NewLoadBalancerAvailableWaiter(e.AWS.ELB, func(o *elbv2.LoadBalancerAvailableWaiterOptions) {
				o.MinDelay, o.MaxDelay = pollMinDelay, pollMaxDelay
			})
			if err := active.Wait(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{lbARN}}, unbounded); err != nil {
				return fmt.Errorf("waiting for load balancer %s to become active: %w", e.Names.ALB(), err)
			}
			return nil
		})
	}
	for _, svc := range services {
		tg, desired := servingTargetGroup(svc), svc.DesiredCount
		if tg == "" || desired == 0 {
			continue
		}
		waits = append(waits, func(ctx context.Context) error {
			healthy := elbv2.NewTargetInServiceWaiter(e.AWS.ELB, func(o *elbv2.TargetInServiceWaiterOptions) {
				o.MinDelay, o.MaxDelay = pollMinDelay, pollMaxDelay
				o.Retryable = func(_ context.Context, _ *elbv2.DescribeTargetHealthInput, out *elbv2.DescribeTargetHealthOutput, err error) (bool, error) {
					if err != nil {
						return false, err
					}
					return int32(countHealthy(out.TargetHealthDescriptions)) < desired, nil
				}
			})
			if err := healthy.Wait(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)}, unbounded); err != nil {
				return fmt.Errorf("waiting for %d healthy targets of ECS service %s in target group %s: %w", desired, aws.ToString(svc.ServiceName), tg, err)
			}
			return nil
		})
	}
	// The first failure ends the other waits; it is the one returned.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var first error
	var once sync.Once
	eachAtOnce(len(waits), func(i int) error {
		if err := waits[i](ctx); err != nil {
			once.Do(func() { first = err; cancel() })
		}
		return nil
	})
	return first
}

// servingTargetGroup is the target group the service's tasks register with: the first of its
// load balancer configuration, which ECS swaps with the alternate one at each blue/green
// deployment.
func servingTargetGroup(svc ecstypes.Service) string {
	if len(svc.LoadBalancers) == 0 {
		return ""
	}
	return aws.ToString(svc.LoadBalancers[0].TargetGroupArn)
}

func countHealthy(targets []elbtypes.TargetHealthDescription) int {
	n := 0
	for _, t := range targets {
		if t.TargetHealth != nil && t.TargetHealth.State == elbtypes.TargetHealthStateEnumHealthy {
			n++
		}
	}
	return n
}

// notServing reads, once more, what each service and the load balancer wait for: one line each.
func (s servingStep) notServing(ctx context.Context, e *Env, lbARN string, names []string) []string {
	var lines []string
	if out, err := e.AWS.ELB.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{lbARN}}); err != nil {
		lines = append(lines, fmt.Sprintf("load balancer %s: cannot be described: %v", e.Names.ALB(), err))
	} else if len(out.LoadBalancers) == 1 && !albActive(&out.LoadBalancers[0]) {
		lines = append(lines, fmt.Sprintf("load balancer %s: %s, not yet active", e.Names.ALB(), loadBalancerState(out.LoadBalancers[0])))
	}
	for _, batch := range chunks(names, 10) {
		out, err := e.AWS.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(e.Names.Cluster()), Services: batch})
		if err != nil {
			lines = append(lines, fmt.Sprintf("ECS services %v: cannot be described: %v", batch, err))
			continue
		}
		for _, svc := range out.Services {
			var targets []elbtypes.TargetHealthDescription
			var targetsErr error
			if tg := servingTargetGroup(svc); tg != "" {
				th, err := e.AWS.ELB.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: aws.String(tg)})
				if th != nil {
					targets = th.TargetHealthDescriptions
				}
				targetsErr = err
			}
			lines = append(lines, "ECS service "+aws.ToString(svc.ServiceName)+": "+servingProgress(svc.DesiredCount, svc.RunningCount, svc.PendingCount, targets, targetsErr))
		}
	}
	return lines
}

func loadBalancerState(lb elbtypes.LoadBalancer) string {
	if lb.State == nil {
		return "state unknown"
	}
	if reason := aws.ToString(lb.State.Reason); reason != "" {
		return string(lb.State.Code) + " (" + reason + ")"
	}
	return string(lb.State.Code)
}

// servingProgress says what a service waits for: its tasks, then its targets' health, with AWS's
// reasons for the targets that are not healthy.
func servingProgress(desired, running, pending int32, targets []elbtypes.TargetHealthDescription, targetsErr error) string {
	tasks := fmt.Sprintf("%d of %d tasks running", running, desired)
	if pending > 0 {
		tasks += fmt.Sprintf(", %d pending", pending)
	}
	if targetsErr != nil {
		return tasks + "; targets cannot be described: " + targetsErr.Error()
	}
	healthy := countHealthy(targets)
	health := fmt.Sprintf("%d of %d targets healthy", healthy, desired)
	reasons := map[string]int{}
	for _, t := range targets {
		if t.TargetHealth == nil || t.TargetHealth.State == elbtypes.TargetHealthStateEnumHealthy {
			continue
		}
		why := string(t.TargetHealth.State)
		if r := t.TargetHealth.Reason; r != "" {
			why += " " + string(r)
		}
		if d := aws.ToString(t.TargetHealth.Description); d != "" {
			why += ": " + d
		}
		reasons[why]++
	}
	var whys []string
	for why, n := range reasons {
		whys = append(whys, fmt.Sprintf("%d %s", n, why))
	}
	sort.Strings(whys)
	if len(whys) > 0 {
		health += " (" + strings.Join(whys, "; ") + ")"
	}
	switch {
	case running < desired:
		return "waiting for tasks: " + tasks + "; " + health
	case healthy < int(desired):
		return "waiting for healthy targets: " + health + "; " + tasks
	}
	return "serving: " + tasks + ", " + health
}

// stableAsFound gives the services as this run found them, without a new call, when nothing
// changed them since and each ran its desired count in one finished deployment.
func (s servingStep) stableAsFound(ctx context.Context, e *Env) ([]ecstypes.Service, bool) {
	if e.Summary().Changed("ECS service ") {
		return nil, false
	}
	all, err := ecsServices(ctx, e)
	if err != nil {
		return nil, false
	}
	var services []ecstypes.Service
	for _, svc := range s.services {
		found, ok := all[e.Names.Service(svc.Name)]
		if !ok || len(found.Deployments) != 1 || found.RunningCount != found.DesiredCount ||
			found.Deployments[0].RolloutState == ecstypes.DeploymentRolloutStateInProgress {
			return nil, false
		}
		services = append(services, found)
	}
	return services, true
}

func (servingStep) Claim(context.Context, *Env) error      { return nil }
func (servingStep) Down(context.Context, *Env) error       { return nil }
func (servingStep) Inspect(context.Context, *Env) []Status { return nil }
