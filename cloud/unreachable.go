package cloud

import (
	"errors"
	"net"
	"net/url"
	"strings"

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

// callCause is AWS's code and message, or the root cause of a transport error.
func callCause(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return strings.Join(strings.Fields(apiErr.ErrorCode()+": "+apiErr.ErrorMessage()), " ")
	}
	return strings.Join(strings.Fields(rootCause(err).Error()), " ")
}
