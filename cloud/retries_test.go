package cloud

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/rs/zerolog"
)

func lostAnswer() error {
	return &smithyhttp.RequestSendError{Err: &url.Error{Op: "Post", URL: "https://ec2", Err: errors.New("read: connection reset by peer")}}
}

func TestCreatesWithoutTokenAreNotResentAfterALostAnswer(t *testing.T) {
	sdk := NewRetryer()
	for _, c := range []struct {
		service, op string
		resend      bool
	}{
		{"EC2", "CreateVpc", false},
		{"KMS", "CreateKey", false},
		{"ECS", "RegisterTaskDefinition", false},
		{"Elastic Load Balancing v2", "CreateRule", false},
		{"EC2", "CreateNatGateway", true}, // ClientToken
		{"ECS", "CreateService", true},    // clientToken
		{"EC2", "CreateTags", true},       // idempotent
		{"EC2", "DescribeVpcs", true},     // a read
		{"IAM", "PutRolePolicy", true},    // an upsert
		{"EC2", "DeleteSubnet", true},     // a second delete answers NotFound, which is done
	} {
		err := classify(c.service, c.op, lostAnswer())
		if got := sdk.IsErrorRetryable(err); got != c.resend {
			t.Errorf("%s.%s with its answer lost: SDK resends = %t, want %t", c.service, c.op, got, c.resend)
		}
		var unknown *OutcomeUnknownError
		if errors.As(err, &unknown) == c.resend {
			t.Errorf("%s.%s: OutcomeUnknownError = %t", c.service, c.op, !c.resend)
		}
	}
	// An internal error (500) on a create without token: AWS may have made it.
	internal := &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 500}},
		Err: &smithy.GenericAPIError{Code: "InternalError"}}
	if sdk.IsErrorRetryable(classify("EC2", "CreateVpc", internal)) || !sdk.IsErrorRetryable(classify("EC2", "CreateTags", internal)) {
		t.Error("a 500 on CreateVpc is resent, or one on CreateTags is not")
	}
	// A request that never left (connection refused on dial) is resent: nothing was made.
	dial := &smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}
	if !sdk.IsErrorRetryable(classify("EC2", "CreateVpc", dial)) {
		t.Error("a create that never reached AWS is not resent")
	}
}

func TestPropagationAndRoleAnswersAreRetriedOnMutatingCallsOnly(t *testing.T) {
	sdk := NewRetryer()
	notFound := &smithy.GenericAPIError{Code: "InvalidSubnetID.NotFound", Message: "The subnet ID 'subnet-1' does not exist"}
	if !sdk.IsErrorRetryable(classify("EC2", "ModifySubnetAttribute", notFound)) {
		t.Error("ModifySubnetAttribute on a subnet just created is not retried")
	}
	if sdk.IsErrorRetryable(classify("EC2", "DescribeSubnets", notFound)) {
		t.Error("a describe of a missing subnet is retried: a resource deleted by hand would cost minutes")
	}
	if sdk.IsErrorRetryable(classify("EC2", "DeleteSubnet", notFound)) {
		t.Error("a delete of a missing subnet is retried: gone is done")
	}
	role := &smithy.GenericAPIError{Code: "InvalidParameterException", Message: "Unable to assume role and validate the specified targetGroupArn. Please verify that the ECS service role being passed has the proper permissions."}
	if !sdk.IsErrorRetryable(classify("ECS", "CreateService", role)) {
		t.Error("ECS's unable-to-assume-role answer is not retried")
	}
	other := &smithy.GenericAPIError{Code: "InvalidParameterException", Message: "The container port is not in the task definition"}
	if sdk.IsErrorRetryable(classify("ECS", "CreateService", other)) {
		t.Error("a real InvalidParameterException is retried")
	}
	if d, _ := sdk.RetryDelay(1, classify("EC2", "CreateRoute", notFound)); d < 250e6 {
		t.Errorf("first propagation retry after %s, want at least 0.25 s (half of the 0.5 s base, jittered)", d)
	}
}

func TestRetriesLogOncePerCodeAndSumUp(t *testing.T) {
	var buf bytes.Buffer
	r := NewRetries(zerolog.New(&buf).Level(zerolog.InfoLevel))
	for i := 0; i < 9; i++ {
		r.note("EC2.CreateTags", "RequestLimitExceeded", "throttled", 1, MaxAttempts)
	}
	for i := 0; i < 5; i++ {
		r.note("ECS.CreateService", "ThrottlingException", "throttled", 2, MaxAttempts)
	}
	Retry(WithRetries(context.Background(), r), "deleting subnet subnet-1", 0, func(error) bool { return true }, func(context.Context) error {
		return &smithy.GenericAPIError{Code: "DependencyViolation"}
	})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 { // first RequestLimitExceeded, first ThrottlingException, the give-up
		t.Errorf("%d info lines for 14 retries:\n%s", len(lines), buf.String())
	}
	want := "retried 14 times: RequestLimitExceeded ×9 (EC2.CreateTags ×9); ThrottlingException ×5 (ECS.CreateService ×5)"
	if got := r.Summary(); got != want {
		t.Errorf("summary\n %s\nwant\n %s", got, want)
	}
	if NewRetries(zerolog.New(io.Discard)).Summary() != "" {
		t.Error("a run without retries has a summary")
	}
	// Every code the proxy injects as throttling is one the SDK treats as throttling.
	for _, code := range []string{"RequestLimitExceeded", "Throttling", "ThrottlingException", "TooManyRequestsException"} {
		if !retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(&smithy.GenericAPIError{Code: code}).Bool() {
			t.Errorf("%s is not a throttle for the SDK", code)
		}
	}
}

// AWS's "not yet" answers right after a create are retried on the call that meets them, and the
// same codes with another message (a real mistake) are not.
func TestNotYetAnswersAreRetried(t *testing.T) {
	sdk := NewRetryer()
	for _, c := range []struct {
		service, op, code, message string
		retried                    bool
	}{
		{"ECS", "CreateService", "ClusterNotFoundException", "Cluster not found.", true},
		{"ECS", "CreateService", "InvalidParameterException", "The target group with targetGroupArn arn:x does not have an associated load balancer.", true},
		{"ECS", "CreateService", "InvalidParameterException", "Unable to assume role and validate the listeners configured on your load balancer.", true},
		{"ECS", "CreateService", "InvalidParameterException", "The container x does not exist in the task definition.", false},
		{"Application Auto Scaling", "RegisterScalableTarget", "ValidationException", "ECS service doesn't exist: service/c/s", true},
		{"Application Auto Scaling", "RegisterScalableTarget", "ValidationException", "The scalable target that you tried to tag already exists.", false},
		{"KMS", "EnableKeyRotation", "NotFoundException", "Key 'k' does not exist", true},
		{"KMS", "CreateAlias", "NotFoundException", "Key 'k' does not exist", true},
		{"KMS", "DescribeKey", "NotFoundException", "Key 'k' does not exist", false},
		{"CloudWatch Logs", "CreateLogGroup", "InvalidParameterException", "The specified KMS key does not exist or is not allowed to be used with Arn 'x'", true},
		{"Secrets Manager", "CreateSecret", "InvalidRequestException", "You can't create this secret because a secret with this name is already scheduled for deletion.", true},
		{"Secrets Manager", "CreateSecret", "InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.", false},
		{"EC2", "CreateRoute", "InvalidNatGatewayID.NotFound", "The natGateway ID 'nat-1' does not exist", true},
	} {
		err := classify(c.service, c.op, &smithy.GenericAPIError{Code: c.code, Message: c.message})
		if got := sdk.IsErrorRetryable(err); got != c.retried {
			t.Errorf("%s.%s %s %q: retried %t, want %t", c.service, c.op, c.code, c.message, got, c.retried)
		}
	}
}
