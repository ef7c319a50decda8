package cmd

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/tapctl/tapctl/engine"
)

// resetCall is the SDK's error for a read whose ten attempts met a reset connection, wrapped as
// a step wraps it.
func resetCall(service, op, doing string) error {
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	send := &smithyhttp.RequestSendError{Err: &url.Error{Op: "Post", URL: "http://127.0.0.1:4566/", Err: reset}}
	return fmt.Errorf("%s: %w", doing, &smithy.OperationError{ServiceID: service, OperationName: op, Err: &retry.MaxAttemptsError{Attempt: 10, Err: send}})
}

func deniedCall() error {
	return fmt.Errorf("creating load balancer microservices-alb-pr1: %w", &smithy.OperationError{ServiceID: "Elastic Load Balancing v2",
		OperationName: "CreateLoadBalancer", Err: &smithy.GenericAPIError{Code: "AccessDenied", Message: "not allowed"}})
}

func stepsFailed(errs ...*engine.StepError) error { return &engine.StepsFailed{Failures: errs} }

func TestFailureLines(t *testing.T) {
	outage := stepsFailed(
		&engine.StepError{Step: "vpc", Err: resetCall("EC2", "DescribeVpcs", "looking up VPC microservices-vpc-pr1 by tags")},
		&engine.StepError{Step: "payment/task-role", Err: resetCall("IAM", "GetRole", "reading IAM role payment-task-role-pr1")},
	)
	for _, tc := range []struct {
		name     string
		err      error
		changing bool
		want     []string
	}{
		{"endpoint lost", outage, true, []string{
			"cannot reach the AWS endpoint (connection reset by peer); 2 steps failed: vpc, payment/task-role; the state file is saved; run the same command again",
			"  vpc: EC2.DescribeVpcs: connection reset by peer (after 10 attempts)",
			"  payment/task-role: IAM.GetRole: connection reset by peer (after 10 attempts)",
		}},
		{"endpoint lost in a plan", outage, false, []string{
			"cannot reach the AWS endpoint (connection reset by peer); 2 steps failed: vpc, payment/task-role; run the same command again",
			"  vpc: EC2.DescribeVpcs: connection reset by peer (after 10 attempts)",
			"  payment/task-role: IAM.GetRole: connection reset by peer (after 10 attempts)",
		}},
		{"one step, AWS's answer", stepsFailed(&engine.StepError{Step: "alb", Err: deniedCall()}), true, []string{
			"step alb: creating load balancer microservices-alb-pr1: Elastic Load Balancing v2.CreateLoadBalancer: AccessDenied: not allowed",
		}},
		{"two steps, two reasons", stepsFailed(
			&engine.StepError{Step: "alb", Err: deniedCall()},
			&engine.StepError{Step: "vpc", Err: resetCall("EC2", "DescribeVpcs", "looking up VPC")},
		), true, []string{
			"2 steps failed: alb, vpc; the state file is saved; once the cause is fixed, run the same command again",
			"  alb: creating load balancer microservices-alb-pr1: Elastic Load Balancing v2.CreateLoadBalancer: AccessDenied: not allowed",
			"  vpc: looking up VPC: EC2.DescribeVpcs: connection reset by peer (after 10 attempts)",
		}},
		{"not a step", resetCall("ECS", "DescribeClusters", "reading cluster"), false, []string{
			"cannot reach the AWS endpoint: reading cluster: ECS.DescribeClusters: connection reset by peer (after 10 attempts); check --endpoint/AWS_ENDPOINT_URL and your network",
		}},
		{"anything else", errors.New("environment pr1 does not exist\n(no state file)"), false, []string{
			"environment pr1 does not exist (no state file)",
		}},
	} {
		got := failureLines(tc.err, tc.changing)
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

// Many failures (a high --parallelism) still end in a bounded text: ten detailed, the rest counted.
func TestFailureLinesAreBounded(t *testing.T) {
	var failures []*engine.StepError
	for i := range 40 {
		failures = append(failures, &engine.StepError{Step: fmt.Sprintf("svc%d/log-group", i),
			Err: &smithy.OperationError{ServiceID: "CloudWatch Logs", OperationName: "CreateLogGroup",
				Err: &smithy.GenericAPIError{Code: "AccessDeniedException", Message: strings.Repeat("not allowed ", 60)}}})
	}
	lines := failureLines(stepsFailed(failures...), true)
	if len(lines) != 1+maxDetails || !strings.Contains(lines[0], "40 steps failed: ") || !strings.Contains(lines[0], "and 30 more") {
		t.Fatalf("%d lines, summary %q", len(lines), lines[0])
	}
	for _, line := range lines[1:] {
		if n := len([]rune(line)); n > detailWidth || !strings.HasSuffix(line, "…") {
			t.Errorf("detail of %d characters: %q", n, line)
		}
	}
}
