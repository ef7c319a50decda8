package cloud

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/tapctl/tapctl/localstack/awstest"
)

// An endpoint that accepts and never answers is reported by the preflight as unreachable after
// one attempt, in one line, instead of holding tapctl forever.
func TestPreflightReportsASilentEndpointAsUnreachable(t *testing.T) {
	awstest.IsolateAWS(t)
	silent := awstest.NewSilentEndpoint(t)
	cfg, err := Load(context.Background(), Options{Region: "us-east-1", Endpoint: silent.URL, AttemptTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Preflight(context.Background(), cfg, NewClients(cfg).STS)
	if err == nil {
		t.Fatal("Preflight against a silent endpoint succeeded")
	}
	t.Logf("%v", err)
	if msg := err.Error(); !strings.HasPrefix(msg, "cannot reach the AWS endpoint (") || strings.Contains(msg, "\n") {
		t.Errorf("Preflight = %q, want one line starting %q", msg, "cannot reach the AWS endpoint (")
	}
	if n := silent.Accepted(); n != 1 {
		t.Errorf("the preflight made %d attempts, want 1", n)
	}
}

// The transport's own response-header timeout (a client built elsewhere, or a tighter bound
// than the attempt's) counts as unreachable too.
func TestPreflightCountsAResponseHeaderTimeoutAsUnreachable(t *testing.T) {
	awstest.IsolateAWS(t)
	silent := awstest.NewSilentEndpoint(t)
	cfg, err := Load(context.Background(), Options{Region: "us-east-1", Endpoint: silent.URL})
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.ResponseHeaderTimeout = 200 * time.Millisecond
	})
	_, err = Preflight(context.Background(), cfg, NewClients(cfg).STS)
	if err == nil || !strings.HasPrefix(err.Error(), "cannot reach the AWS endpoint (") || !strings.Contains(err.Error(), "timeout awaiting response headers") {
		t.Fatalf("Preflight = %v, want cannot reach the AWS endpoint (... timeout awaiting response headers)", err)
	}
}

// After the preflight, a timed-out attempt is retried by the SDK like any connection error, up
// to MaxAttempts: the worst case of one call is MaxAttempts attempt timeouts plus the backoff
// between them (README, "When AWS has a bad day"). Checked on the error of one real attempt.
func TestTimedOutAttemptIsRetriedAsAConnectionError(t *testing.T) {
	awstest.IsolateAWS(t)
	silent := awstest.NewSilentEndpoint(t)
	cfg, err := Load(context.Background(), Options{Region: "us-east-1", Endpoint: silent.URL, AttemptTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewClients(cfg).STS.GetCallerIdentity(context.Background(), nil, func(o *sts.Options) { o.RetryMaxAttempts = 1 })
	if err == nil {
		t.Fatal("a call to a silent endpoint succeeded")
	}
	retryer := NewRetryer()
	if !retryer.IsErrorRetryable(err) || retryer.MaxAttempts() != MaxAttempts {
		t.Errorf("IsErrorRetryable(%v) = %v, MaxAttempts = %d; want true, %d", err, retryer.IsErrorRetryable(err), retryer.MaxAttempts(), MaxAttempts)
	}
	if !Unreachable(err) {
		t.Errorf("Unreachable(%v) = false", err)
	}
}
