package cloud

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Unreachable reports an error of the way to AWS rather than an answer from it: the connection
// was refused, reset or timed out, or the answer was cut off. A call cancelled by tapctl itself
// (Ctrl-C, a wait's deadline) is not one.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	var apiErr smithy.APIError
	var canceled *smithy.CanceledError
	if errors.As(err, &apiErr) || errors.As(err, &canceled) {
		return false
	}
	var sendErr *smithyhttp.RequestSendError
	var netErr net.Error
	var urlErr *url.Error
	return errors.As(err, &sendErr) || errors.As(err, &netErr) || errors.As(err, &urlErr)
}

// Brief states a failed call in a few words, without the SDK's chain of wrappers: what the caller
// was doing, the call, and AWS's code and message or the network's last word, e.g.
// "creating VPC microservices-vpc-pr1: EC2.CreateVpc: connection refused (after 10 attempts)".
// Errors that are not calls keep their text, on one line.
func Brief(err error) string {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	var op *smithy.OperationError
	if !errors.As(err, &op) {
		return msg
	}
	// What the steps wrapped around the call ("creating VPC x: ") is kept as it was written.
	context := ""
	if i := strings.Index(msg, "operation error "+op.ServiceID+": "+op.OperationName); i > 0 {
		context = msg[:i]
	}
	return context + Call(err)
}

// Call is the failed call of err and why it failed, e.g. "EC2.DescribeVpcs: connection refused
// (after 10 attempts)"; for an error that is not a call, its text on one line.
func Call(err error) string {
	var op *smithy.OperationError
	if !errors.As(err, &op) {
		return strings.Join(strings.Fields(err.Error()), " ")
	}
	line := op.ServiceID + "." + op.OperationName + ": " + Cause(op.Err)
	var gaveUp *retry.MaxAttemptsError
	if errors.As(err, &gaveUp) {
		line += fmt.Sprintf(" (after %d attempts)", gaveUp.Attempt)
	}
	return line
}

// CannotReach is the words tapctl uses for an endpoint that does not answer, with the network's
// last word, e.g. "cannot reach the AWS endpoint (connection refused)".
func CannotReach(err error) string {
	return "cannot reach the AWS endpoint (" + Cause(err) + ")"
}

// Cause is AWS's code and message, or the root cause of a transport error.
func Cause(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return strings.Join(strings.Fields(apiErr.ErrorCode()+": "+apiErr.ErrorMessage()), " ")
	}
	return strings.Join(strings.Fields(rootCause(err).Error()), " ")
}
