package cloud

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"
)

// A step wraps Retry's error with the operation, as it wraps every call's: the message says
// "deleting target group X" once, not twice.
func TestRetryErrorNamesTheOperationOnce(t *testing.T) {
	const arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/payment-tg-pr1/1"
	inUse := func(context.Context) error {
		return &smithy.GenericAPIError{Code: "ResourceInUse", Message: "target group is in use by a listener or a rule"}
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for name, ctx := range map[string]context.Context{"budget spent": context.Background(), "interrupted": cancelled} {
		budget := 0 * time.Second
		if name == "interrupted" {
			budget = time.Minute
		}
		err := Retry(ctx, "deleting target group "+arn, budget, RetryOn(DependencyCodes...), inUse)
		msg := fmt.Errorf("deleting target group %s: %w", arn, err).Error()
		if n := strings.Count(msg, "deleting target group"); n != 1 {
			t.Errorf("%s: the operation is named %d times: %s", name, n, msg)
		}
		if !strings.Contains(msg, "ResourceInUse") {
			t.Errorf("%s: AWS's answer is lost: %s", name, msg)
		}
	}
}
