package cloud

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// refusedCall is the error chain the SDK returns for a create whose every attempt was refused,
// wrapped by the step as steps do.
func refusedCall() error {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	send := &smithyhttp.RequestSendError{Err: &url.Error{Op: "Post", URL: "http://127.0.0.1:1/", Err: refused}}
	op := &smithy.OperationError{ServiceID: "EC2", OperationName: "CreateVpc", Err: &retry.MaxAttemptsError{Attempt: 10, Err: send}}
	return fmt.Errorf("creating VPC microservices-vpc-pr1: %w", op)
}

func TestBriefAndUnreachable(t *testing.T) {
	denied := fmt.Errorf("creating VPC microservices-vpc-pr1: %w", &smithy.OperationError{ServiceID: "EC2", OperationName: "CreateVpc",
		Err: &smithy.GenericAPIError{Code: "UnauthorizedOperation", Message: "You are not authorized\nto perform this operation."}})
	canceled := fmt.Errorf("creating VPC: %w", &smithy.OperationError{ServiceID: "EC2", OperationName: "CreateVpc", Err: &smithy.CanceledError{Err: context.Canceled}})
	for _, tc := range []struct {
		name        string
		err         error
		brief, call string
		unreachable bool
	}{
		{"refused", refusedCall(),
			"creating VPC microservices-vpc-pr1: EC2.CreateVpc: connection refused (after 10 attempts)",
			"EC2.CreateVpc: connection refused (after 10 attempts)", true},
		{"AWS's answer", denied,
			"creating VPC microservices-vpc-pr1: EC2.CreateVpc: UnauthorizedOperation: You are not authorized to perform this operation.",
			"EC2.CreateVpc: UnauthorizedOperation: You are not authorized to perform this operation.", false},
		{"cancelled", canceled, "creating VPC: EC2.CreateVpc: context canceled", "EC2.CreateVpc: context canceled", false},
		{"not a call", fmt.Errorf("waiting for NAT gateway nat-1:\nstill pending"), "waiting for NAT gateway nat-1: still pending", "waiting for NAT gateway nat-1: still pending", false},
	} {
		if got := Brief(tc.err); got != tc.brief {
			t.Errorf("%s: Brief = %q\nwant %q", tc.name, got, tc.brief)
		}
		if got := Call(tc.err); got != tc.call {
			t.Errorf("%s: Call = %q\nwant %q", tc.name, got, tc.call)
		}
		if got := Unreachable(tc.err); got != tc.unreachable {
			t.Errorf("%s: Unreachable = %v, want %v", tc.name, got, tc.unreachable)
		}
	}
	if got, want := CannotReach(refusedCall()), "cannot reach the AWS endpoint (connection refused)"; got != want {
		t.Errorf("CannotReach = %q, want %q", got, want)
	}
}
