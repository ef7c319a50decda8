package cloud

import (
	"net"
	"net/http"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// DefaultAttemptTimeout bounds one attempt of an AWS call, from dialling to the last byte of the
// answer. The SDK sets no such bound, so an endpoint that accepts connections and never answers
// would hold tapctl forever. AWS control-plane calls answer in well under a second and their
// answers are small; 30 s leaves room for a slow network and still fails a CI job in time.
const DefaultAttemptTimeout = 30 * time.Second

// connectTimeout bounds the TCP connect and, separately, the TLS handshake, within the attempt:
// a black-holed address is then reported as a failed connect, not a silent answer.
const connectTimeout = 10 * time.Second

// boundedHTTPClient is the SDK's own buildable client with every phase of an attempt bounded:
// connect and TLS handshake by connectTimeout each, the whole attempt (sending, waiting for the
// answer's headers, reading its body) by attempt. The SDK retries a timed-out attempt like any
// connection error, up to MaxAttempts; the preflight does not (preflight.go).
func boundedHTTPClient(attempt time.Duration) *awshttp.BuildableClient {
	if attempt <= 0 {
		attempt = DefaultAttemptTimeout
	}
	connect := min(connectTimeout, attempt)
	return awshttp.NewBuildableClient().
		WithTimeout(attempt).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = connect }).
		WithTransportOptions(func(t *http.Transport) { t.TLSHandshakeTimeout = connect })
}
