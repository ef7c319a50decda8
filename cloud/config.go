// Package cloud loads the AWS configuration, builds the service clients tapctl uses, and holds
// the small amount of AWS error knowledge shared by every step (which codes mean "gone",
// which mean "try again later").
package cloud

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/middleware"
)

// DefaultRegion applies when neither --region nor the AWS config chain names one.
const DefaultRegion = "us-east-1"

// Options are the user's choices that shape the AWS configuration.
type Options struct {
	Region   string // --region; empty means the standard config chain, then DefaultRegion
	Endpoint string // --endpoint; overrides every service's endpoint
	// APIOptions are extra SDK middlewares, e.g. the call counter or a test's request capture.
	APIOptions []func(*middleware.Stack) error
	// Retries, when set, observes and logs the SDK's retries (retries.go).
	Retries *Retries
	// AttemptTimeout bounds each attempt of every call (transport.go); zero means
	// DefaultAttemptTimeout. Tests shorten it to meet a silent endpoint quickly.
	AttemptTimeout time.Duration
}

var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)

// ValidateRegion rejects a region that cannot exist, before any call is made.
func ValidateRegion(region string) error {
	if region != "" && !regionPattern.MatchString(region) {
		return fmt.Errorf("unknown region %q: expected a region code such as us-east-1 or eu-west-2", region)
	}
	return nil
}

// ValidateEndpoint rejects an --endpoint the SDK could not send a request to: it must be an
// absolute http or https URL with a host ("" means AWS's own endpoints).
func ValidateEndpoint(endpoint string) error {
	if endpoint == "" {
		return nil
	}
	u, err := url.Parse(endpoint)
	switch {
	case err != nil:
		return fmt.Errorf("invalid --endpoint %q: %w", endpoint, errors.Unwrap(err))
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("invalid --endpoint %q: it must be an http:// or https:// URL, e.g. http://127.0.0.1:4566", endpoint)
	case u.Hostname() == "":
		return fmt.Errorf("invalid --endpoint %q: it names no host; e.g. http://127.0.0.1:4566", endpoint)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("invalid --endpoint %q: only scheme, host, port and path, e.g. http://127.0.0.1:4566", endpoint)
	}
	return nil
}

// Load builds the SDK configuration from the standard chain (env, profiles, SSO) plus opts.
// AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> keep working: the SDK reads them itself,
// and --endpoint, when given, takes precedence over them.
func Load(ctx context.Context, opts Options) (aws.Config, error) {
	if err := ValidateRegion(opts.Region); err != nil {
		return aws.Config{}, err
	}
	if err := ValidateEndpoint(opts.Endpoint); err != nil {
		return aws.Config{}, err
	}
	loaders := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			// Throttling in a busy account is normal; give the SDK's backoff more room than the
			// default 3 attempts (why 10, and why no retry quota: see MaxAttempts).
			return NewRetryer()
		}),
		config.WithHTTPClient(boundedHTTPClient(opts.AttemptTimeout)),
	}
	if opts.Region != "" {
		loaders = append(loaders, config.WithRegion(opts.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loaders...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if err := ValidateRegion(cfg.Region); err != nil {
		return aws.Config{}, err
	}
	if opts.Endpoint != "" {
		cfg.BaseEndpoint = aws.String(opts.Endpoint)
	}
	cfg.APIOptions = append(cfg.APIOptions, opts.APIOptions...)
	if opts.Retries != nil {
		cfg.APIOptions = append(cfg.APIOptions, opts.Retries.Middleware)
		// The SDK's own warnings (e.g. a connection closed mid-answer) go to the run's debug
		// log, not raw to stderr.
		cfg.Logger = opts.Retries.sdkLogger()
	}
	return cfg, nil
}
