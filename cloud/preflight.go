package cloud

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// Identity is who tapctl acts as.
type Identity struct {
	Account string
	ARN     string
}

// Partition is the ARN partition of the caller: aws, aws-cn or aws-us-gov.
func (id Identity) Partition() string {
	if a, err := arn.Parse(id.ARN); err == nil && a.Partition != "" {
		return a.Partition
	}
	return "aws"
}

// Preflight checks credentials and reachability with one read call, turning the SDK's long
// errors into one line that names the problem and what to do.
func Preflight(ctx context.Context, cfg aws.Config, client *sts.Client) (Identity, error) {
	credCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if cfg.Credentials == nil {
		return Identity{}, errNoCredentials(nil)
	}
	if _, err := cfg.Credentials.Retrieve(credCtx); err != nil {
		return Identity{}, errNoCredentials(err)
	}
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.Options) {
		// An unreachable endpoint should be reported in seconds, not minutes; throttling and
		// server errors are retried as on every other call.
		o.Retryer = &quickWhenUnreachable{Retryer: o.Retryer}
	})
	if err != nil {
		var dnsErr *net.DNSError
		switch {
		case errors.As(err, &dnsErr):
			return Identity{}, fmt.Errorf("cannot reach AWS: host %s not found; check --region %s and --endpoint/AWS_ENDPOINT_URL", dnsErr.Name, cfg.Region)
		case Unreachable(err):
			// Refused, reset, or no answer within the attempt's time (transport.go).
			return Identity{}, errUnreachable(err)
		case ErrorCode(err) == "InvalidClientTokenId" || ErrorCode(err) == "SignatureDoesNotMatch" || ErrorCode(err) == "ExpiredToken":
			return Identity{}, fmt.Errorf("AWS rejected the credentials (%s); refresh them (aws sso login, or new access keys)", ErrorCode(err))
		}
		return Identity{}, fmt.Errorf("checking AWS credentials with sts:GetCallerIdentity: %w", err)
	}
	return Identity{Account: aws.ToString(out.Account), ARN: aws.ToString(out.Arn)}, nil
}

// errUnreachable is the one line for an endpoint that did not answer; mid-run failures of the
// same kind are summed up with the same words (cmd).
func errUnreachable(err error) error {
	return fmt.Errorf("%s; check --endpoint/AWS_ENDPOINT_URL and your network", CannotReach(err))
}

func errNoCredentials(cause error) error {
	msg := "no AWS credentials found: set AWS_PROFILE (or run aws sso login), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
	if cause != nil {
		msg += fmt.Sprintf(" (%v)", rootCause(cause))
	}
	return errors.New(msg)
}

func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// quickWhenUnreachable does not retry a connection failure (the endpoint is reported at once),
// and retries AWS's answers (throttling, 5xx) as the SDK does.
type quickWhenUnreachable struct{ aws.Retryer }

func (q *quickWhenUnreachable) IsErrorRetryable(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && q.Retryer.IsErrorRetryable(err)
}
