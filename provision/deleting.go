package provision

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tapctl/tapctl/cloud"
)

// deleteWhenFree deletes a resource that dependents going away may still hold: network
// interfaces of a deleted NAT gateway, load balancer or task linger for minutes on AWS, and a
// target group stays in use until its rule and service are gone. It retries on
// DependencyViolation and the like for e.Timeouts.Dependencies; already gone is done.
func deleteWhenFree(ctx context.Context, e *Env, kind, id string, del func(context.Context) error) error {
	return retryUntilFree(ctx, e, "deleting "+kind+" "+id, cloud.DependencyCodes, del)
}

// retryUntilFree calls remove until AWS stops answering with one of busy (the resource is still
// held) or e.Timeouts.Dependencies runs out; already gone is done. doing names the call in the
// log and the error.
func retryUntilFree(ctx context.Context, e *Env, doing string, busy []string, remove func(context.Context) error) error {
	return goneIsDone(doing, cloud.Retry(ctx, doing, e.Timeouts.Dependencies, cloud.RetryOn(busy...), remove))
}

// goneIsDone is a delete call's outcome: nil when it worked or the resource is already gone,
// else the error wrapped once with what was being done ("deleting VPC vpc-1").
func goneIsDone(doing string, err error) error {
	if err == nil || cloud.IsNotFound(err) {
		return nil
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// removeFound is the Down of a step that owns one resource: found (nil when there is none) is
// removed and said deleted as label, and key leaves the state file either way.
func removeFound[T any](e *Env, key, label string, found *T, findErr error, idOf func(*T) string, remove func(id string) error) error {
	if findErr != nil {
		return findErr
	}
	if found != nil {
		id := idOf(found)
		if err := remove(id); err != nil {
			return err
		}
		e.Deleted(label, id)
	}
	return e.Forget(key)
}

// eachAtOnce runs do(0) … do(n-1) side by side, at most atOnce at a time, for the calls of one
// step that do not depend on each other, and returns their errors joined. The bound keeps a step
// with many items (a family of 100 task definition revisions) inside AWS's request rates.
func eachAtOnce(n int, do func(i int) error) error {
	errs := make([]error, n)
	slots := make(chan struct{}, atOnce)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			errs[i] = do(i)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// atOnce bounds the calls one step makes side by side, as the default --parallelism bounds steps.
const atOnce = 10

// waitGone polls gone (reads only), from pollMinDelay doubling to pollMaxDelay, until it says
// what is gone, bounded by e.Timeouts.Dependencies. EC2 has no waiter for a deleted endpoint or
// for a deleted owner's network interfaces.
func waitGone(ctx context.Context, e *Env, what string, gone func() (bool, error)) error {
	deadline := time.Now().Add(e.Timeouts.Dependencies)
	delay := pollMinDelay
	for {
		done, err := gone()
		if err != nil || done {
			return err
		}
		if time.Now().Add(delay).After(deadline) {
			return fmt.Errorf("waiting for %s to be deleted: still there after %s", what, e.Timeouts.Dependencies)
		}
		e.Log.Info().Msgf("waiting for %s to be deleted", what)
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to be deleted: %w", what, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, pollMaxDelay)
	}
}
