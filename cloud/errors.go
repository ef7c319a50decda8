package cloud

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/smithy-go"
)

// ErrorCode is the AWS error code of err, or "" when err is not an API error.
func ErrorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// IsNotFound reports whether AWS answered that the resource does not exist. Each service spells
// it its own way: InvalidVpcID.NotFound, NoSuchEntity, ResourceNotFoundException, ...
func IsNotFound(err error) bool {
	code := ErrorCode(err)
	switch code {
	case "NoSuchEntity", "ResourceNotFound", "ObjectNotFoundException", "NatGatewayNotFound":
		return true
	}
	return strings.HasSuffix(code, "NotFound") || strings.HasSuffix(code, "NotFoundException")
}

// HasCode reports whether err carries one of the given AWS error codes.
func HasCode(err error, codes ...string) bool {
	code := ErrorCode(err)
	for _, c := range codes {
		if code == c {
			return true
		}
	}
	return false
}

// Codes that AWS documents as "not yet": the dependency is still being released, or the
// resource just created has not propagated. They are retried with a bound; nothing else is.
var (
	// DependencyCodes: a dependent resource (an ENI of a deleted NAT, ALB or task) still exists.
	DependencyCodes = []string{"DependencyViolation", "ResourceInUse", "ResourceInUseException", "DeleteConflict"}
	// PropagationCodes: eventual consistency right after a create (EC2 IDs, IAM roles).
	PropagationCodes = []string{
		"InvalidVpcID.NotFound", "InvalidSubnetID.NotFound", "InvalidInternetGatewayID.NotFound",
		"InvalidRouteTableID.NotFound", "InvalidNatGatewayID.NotFound", "InvalidAllocationID.NotFound",
		"InvalidGroup.NotFound", "NatGatewayNotFound",
	}
)

// Retry calls fn until it succeeds, fails with an error that retryable rejects, or budget runs
// out. Backoff grows from 1 s to 15 s with jitter. The last error is returned; what names the
// operation in the log only, since every caller wraps the error with the same words (once is
// enough). Each retry is reported to the run's Retries (WithRetries), like the SDK's own.
func Retry(ctx context.Context, what string, budget time.Duration, retryable func(error) bool, fn func(context.Context) error) error {
	deadline := time.Now().Add(budget)
	delay := time.Second
	attempt := 0
	for {
		err := fn(ctx)
		if err == nil || !retryable(err) {
			return err
		}
		if time.Now().Add(delay).After(deadline) {
			retriesFrom(ctx).noteGaveUp(what, ErrorCode(err), budget)
			return fmt.Errorf("still failing after %s: %w", budget, err)
		}
		attempt++
		retriesFrom(ctx).note(what, ErrorCode(err), "AWS answers this while a change propagates", attempt, 0)
		sleep := delay/2 + rand.N(delay/2+1)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(sleep):
		}
		delay = min(delay*2, 5*time.Second)
	}
}

// RetryOn is a retryable predicate for a fixed list of codes.
func RetryOn(codes ...string) func(error) bool {
	return func(err error) bool { return HasCode(err, codes...) }
}
