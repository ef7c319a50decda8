package cloud

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/rs/zerolog"
)

// MaxAttempts bounds the SDK's attempts per call. Why 10: with AWS throttling 20 % of calls and
// failing 5 % with a 5xx, independently, one attempt fails with p = 0.25; a call fails for good
// with p^n. A fresh up, a second up and a down make about 400 calls: with n = 8 (the former
// bound) the chance that one of them fails is 400 × 0.25^8 ≈ 0.6 %; with n = 10 it is
// 400 × 0.25^10 ≈ 0.04 %. The SDK's jittered backoff (capped at 20 s) keeps a call's worst case
// near two minutes.
//
// The SDK's client-side retry quota is switched off (ratelimit.None in Load): it is a circuit
// breaker for fleets of clients during an outage (500 tokens per client, 14 per non-throttling
// retry, not refunded when the retry fails). One tapctl run shares one ELB or EC2 client among
// up to 10 concurrent steps, and a burst of eventual-consistency answers after creates
// (TargetGroupNotFound on six new target groups) drained it within seconds, turning retryable
// answers into failures. Every call stays bounded by MaxAttempts.
const MaxAttempts = 10

// Retries observes the SDK's retries, which are otherwise silent: each retry is logged at debug
// level (operation, error code, attempt); at info level only the first retry of each error code
// in a run, and a summary at the end. It also decides what the SDK must not retry on its own.
type Retries struct {
	log    zerolog.Logger
	mu     sync.Mutex
	counts map[retryKey]int
	seen   map[string]bool // codes already logged at info level
}

type retryKey struct{ code, call string }

// NewRetries logs to log.
func NewRetries(log zerolog.Logger) *Retries {
	return &Retries{log: log, counts: map[retryKey]int{}, seen: map[string]bool{}}
}

type retriesKey struct{}

// WithRetries puts r on ctx, so that cloud.Retry loops report to it as well.
func WithRetries(ctx context.Context, r *Retries) context.Context {
	return context.WithValue(ctx, retriesKey{}, r)
}

func retriesFrom(ctx context.Context) *Retries {
	r, _ := ctx.Value(retriesKey{}).(*Retries)
	return r
}

// note records one retry of call after code.
func (r *Retries) note(call, code, why string, attempt, max int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.counts[retryKey{code, call}]++
	first := !r.seen[code]
	r.seen[code] = true
	r.mu.Unlock()
	r.log.Debug().Str("call", call).Str("code", code).Int("attempt", attempt).Int("maxAttempts", max).Msg("retrying after " + code + ": " + why)
	if first {
		r.log.Info().Str("call", call).Str("code", code).
			Msgf("retrying %s after %s (%s); later retries of this kind are counted in the summary", call, code, why)
	}
}

// Summary is one line naming every retried code and the calls it hit, or "" when nothing was
// retried, e.g. "retried 14 times: RequestLimitExceeded ×9 (EC2.CreateTags ×3, …), …".
func (r *Retries) Summary() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	byCode := map[string][]retryKey{}
	totalByCode := map[string]int{}
	total := 0
	for k, n := range r.counts {
		byCode[k.code] = append(byCode[k.code], k)
		totalByCode[k.code] += n
		total += n
	}
	if total == 0 {
		return ""
	}
	codes := make([]string, 0, len(byCode))
	for c := range byCode {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool {
		if totalByCode[codes[i]] != totalByCode[codes[j]] {
			return totalByCode[codes[i]] > totalByCode[codes[j]]
		}
		return codes[i] < codes[j]
	})
	var parts []string
	for _, c := range codes {
		keys := byCode[c]
		sort.Slice(keys, func(i, j int) bool {
			if r.counts[keys[i]] != r.counts[keys[j]] {
				return r.counts[keys[i]] > r.counts[keys[j]]
			}
			return keys[i].call < keys[j].call
		})
		var calls []string
		for i, k := range keys {
			if i == 3 {
				calls = append(calls, fmt.Sprintf("%d more", len(keys)-3))
				break
			}
			calls = append(calls, fmt.Sprintf("%s ×%d", k.call, r.counts[k]))
		}
		parts = append(parts, fmt.Sprintf("%s ×%d (%s)", c, totalByCode[c], strings.Join(calls, ", ")))
	}
	return fmt.Sprintf("retried %d times: %s", total, strings.Join(parts, "; "))
}

// Total is how many retries were noted.
func (r *Retries) Total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.counts {
		n += c
	}
	return n
}

type attemptKey struct{}

// attempts is one call's attempts so far and the last one's error.
type attempts struct {
	n    int
	last error
}

// Middleware is an SDK APIOptions entry: it numbers each call's attempts and, inside the SDK's
// retry loop, classifies each failed attempt; an attempt after the first is a retry the SDK
// decided on, logged with the error that caused it.
func (r *Retries) Middleware(stack *middleware.Stack) error {
	number := middleware.FinalizeMiddlewareFunc("tapctlAttemptNumber",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			return next.HandleFinalize(context.WithValue(ctx, attemptKey{}, &attempts{}), in)
		})
	observe := middleware.FinalizeMiddlewareFunc("tapctlRetryObserver",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			service, op := awsmiddleware.GetServiceID(ctx), middleware.GetOperationName(ctx)
			st, _ := ctx.Value(attemptKey{}).(*attempts)
			if st != nil {
				st.n++
				if st.n > 1 && st.last != nil {
					code, why := reason(st.last)
					r.note(service+"."+op, code, why, st.n, MaxAttempts)
				}
			}
			out, md, err := next.HandleFinalize(ctx, in)
			if err != nil {
				err = classify(service, op, err)
			}
			if st != nil {
				st.last = err
			}
			return out, md, err
		})
	if _, ok := stack.Finalize.Get("Retry"); !ok {
		return nil
	}
	if err := stack.Finalize.Insert(number, "Retry", middleware.Before); err != nil {
		return err
	}
	return stack.Finalize.Insert(observe, "Retry", middleware.After)
}

// reason names why an attempt is retried, for the log.
func reason(err error) (code, why string) {
	code = ErrorCode(err)
	throttle := retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool()
	var status interface{ HTTPStatusCode() int }
	switch {
	case throttle:
		return code, "AWS is throttling the account's calls"
	case HasCode(err, PropagationCodes...) || HasCode(err, "TargetGroupNotFound", "LoadBalancerNotFound"):
		return code, "a resource just created is not visible everywhere yet"
	case IsRoleNotAssumable(err):
		return code, "a role just created cannot be assumed yet"
	case errors.As(err, new(retryableError)):
		return code, "a resource just created is not visible everywhere yet"
	case code == "" && errors.As(err, &status) && status.HTTPStatusCode() >= 500:
		return fmt.Sprintf("HTTP %d", status.HTTPStatusCode()), "server error"
	case code == "":
		return "connection error", "the request did not reach AWS or its answer was lost"
	case errors.As(err, &status) && status.HTTPStatusCode() >= 500:
		return code, "server error"
	}
	return code, "AWS marks it retryable"
}

// classify adjusts the SDK's retry decision for one failed attempt:
//   - a create without an idempotency token whose answer was lost must not be sent again blindly
//     (a second VPC, key or revision would be made): it becomes an OutcomeUnknownError, which the
//     SDK does not retry and the step engine answers by finding the resource by its tags;
//   - a call that changes a resource just created, which AWS does not see yet (eventual
//     consistency: InvalidVpcID.NotFound, TargetGroupNotFound, ...), is retried; reads and
//     deletes are not (a describe's "not found" sends a step to its tag lookup, a delete's
//     means done);
//   - ECS refusing a role just created ("Unable to assume role") is retried.
func classify(service, op string, err error) error {
	if tokenless(service, op) && (answerLost(err) || internalError(err)) {
		return &OutcomeUnknownError{Call: service + "." + op, Err: err}
	}
	if IsMutating(op) && !removes(op) && (HasCode(err, PropagationCodes...) ||
		service == "Elastic Load Balancing v2" && HasCode(err, "TargetGroupNotFound", "LoadBalancerNotFound")) {
		return retryableError{err}
	}
	if IsRoleNotAssumable(err) || notYet(service+"."+op, err) {
		return retryableError{err}
	}
	return err
}

// notYetAnswers are what AWS answers a call that needs a resource created a moment ago, which
// that part of the service does not see yet (each service is eventually consistent). They are
// retried with the patient delays (1 s doubling to 20 s, MaxAttempts): about two minutes. The
// message is matched where the code alone also means a real mistake.
var notYetAnswers = []struct{ call, code, message string }{
	// ECS after CreateCluster (ECS API Reference, "eventual consistency").
	{"ECS.CreateService", "ClusterNotFoundException", ""},
	// ECS after the listener rule that ties the target group to the load balancer
	// (terraform-provider-aws retries it on aws_ecs_service).
	{"ECS.CreateService", "InvalidParameterException", "does not have an associated load balancer"},
	// Application Auto Scaling after CreateService (terraform-provider-aws retries it on
	// aws_appautoscaling_target).
	{"Application Auto Scaling.RegisterScalableTarget", "ValidationException", "ECS service doesn't exist"},
	// KMS after CreateKey (AWS KMS Developer Guide, "Eventual consistency").
	{"KMS.EnableKeyRotation", "NotFoundException", ""},
	{"KMS.CreateAlias", "NotFoundException", ""},
	// CloudWatch Logs with a key just created, or whose policy has not reached Logs yet.
	{"CloudWatch Logs.CreateLogGroup", "InvalidParameterException", "KMS key does not exist"},
	{"CloudWatch Logs.AssociateKmsKey", "InvalidParameterException", "KMS key does not exist"},
	// Secrets Manager right after a force-delete of the same name (DeleteSecret: "use back-off
	// and retry").
	{"Secrets Manager.CreateSecret", "InvalidRequestException", "scheduled for deletion"},
}

func notYet(call string, err error) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	for _, a := range notYetAnswers {
		if a.call == call && a.code == apiErr.ErrorCode() && strings.Contains(apiErr.ErrorMessage(), a.message) {
			return true
		}
	}
	return false
}

// removes reports a call that deletes or detaches: "not found" then means done, not "not yet".
func removes(op string) bool {
	for _, p := range []string{"Delete", "Detach", "Disassociate", "Release", "Revoke", "Deregister", "Remove"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// IsRoleNotAssumable reports ECS's (and Application Auto Scaling's) answer while a role just
// created has not propagated through IAM: InvalidParameterException "Unable to assume role ...",
// "ECS was unable to assume the role ...".
func IsRoleNotAssumable(err error) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || !strings.Contains(apiErr.ErrorCode(), "InvalidParameter") && apiErr.ErrorCode() != "ValidationException" {
		return false
	}
	msg := strings.ToLower(apiErr.ErrorMessage())
	return strings.Contains(msg, "unable to assume") || strings.Contains(msg, "assume role")
}

type retryableError struct{ error }

func (e retryableError) RetryableError() bool { return true }
func (e retryableError) Unwrap() error        { return e.error }

// OutcomeUnknownError is a create whose answer was lost, or answered with an internal error: AWS
// may or may not have made the resource. The SDK does not retry it; the step is run again and finds the resource by its tags.
type OutcomeUnknownError struct {
	Call string
	Err  error
}

func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("%s may or may not have taken effect (%v)", e.Call, e.Err)
}
func (e *OutcomeUnknownError) Unwrap() error        { return e.Err }
func (e *OutcomeUnknownError) RetryableError() bool { return false }

// internalError reports an HTTP 500: AWS failed while handling the call and cannot say whether
// the create took effect (a 503, like throttling, means it was turned away before).
func internalError(err error) bool {
	var status interface{ HTTPStatusCode() int }
	return errors.As(err, &status) && status.HTTPStatusCode() == 500
}

// answerLost reports a transport error after the request may have reached AWS (a reset or
// closed connection, a timeout), not one where it certainly did not (dial errors).
func answerLost(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return false
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return false
	}
	var sendErr *smithyhttp.RequestSendError
	return errors.As(err, &sendErr) || retry.RetryableConnectionError{}.IsErrorRetryable(err).Bool()
}

// tokenless reports a call that makes something and carries no idempotency token, so that sending
// it twice would make two (CreateVpc, CreateKey, RegisterTaskDefinition, ...) or fail with
// "already exists" (CreateRole, CreateSecurityGroup, CreateRule, ...). Calls with a token
// (ClientToken, clientToken, ClientRequestToken, CreatorRequestId) and upserts are not listed.
func tokenless(service, op string) bool {
	if withToken[service+"."+op] {
		return false
	}
	for _, p := range []string{"Create", "Allocate", "Register", "Attach", "Associate", "Authorize", "Run"} {
		if strings.HasPrefix(op, p) && op != "CreateTags" {
			return true
		}
	}
	return false
}

var withToken = map[string]bool{
	"EC2.CreateNatGateway":                       true, // ClientToken
	"EC2.CreateRouteTable":                       true, // ClientToken
	"ECS.CreateService":                          true, // clientToken
	"Secrets Manager.CreateSecret":               true, // ClientRequestToken (filled by the SDK)
	"ServiceDiscovery.CreatePrivateDnsNamespace": true, // CreatorRequestId
	"ServiceDiscovery.CreateService":             true, // CreatorRequestId
	"App Mesh.CreateMesh":                        true, // clientToken (filled by the SDK)
	"App Mesh.CreateVirtualNode":                 true,
	"App Mesh.CreateVirtualService":              true,
}

// noteGaveUp logs, at info level, a bounded retry loop that ran out of time.
func (r *Retries) noteGaveUp(what, code string, budget interface{ String() string }) {
	if r == nil {
		return
	}
	r.log.Info().Str("call", what).Str("code", code).Msgf("gave up retrying %s after %s", what, budget.String())
}

// patientRetryer waits longer between attempts when AWS says a change has not propagated yet:
// the SDK's base delay for non-throttling errors is 50 ms, fit for a blip, while propagation
// (EC2 IDs, IAM roles) takes seconds. From 0.5 s, doubling to 20 s, with jitter: the ten
// attempts span 45 to 90 seconds, and a resource that is there after a second costs one short
// wait.
type patientRetryer struct{ aws.RetryerV2 }

func (p patientRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	var notYet retryableError
	if errors.As(err, &notYet) {
		d := min(500*time.Millisecond<<min(attempt-1, 6), 20*time.Second)
		return d/2 + rand.N(d/2+1), nil
	}
	return p.RetryerV2.RetryDelay(attempt, err)
}

// NewRetryer is tapctl's retryer: the SDK's standard one with MaxAttempts, no client-side
// quota, and patience with propagation.
func NewRetryer() aws.Retryer {
	return patientRetryer{retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = MaxAttempts
		o.RateLimiter = ratelimit.None
	})}
}

func (r *Retries) sdkLogger() logging.Logger {
	return logging.LoggerFunc(func(classification logging.Classification, format string, v ...interface{}) {
		r.log.Debug().Str("sdk", string(classification)).Msgf(format, v...)
	})
}
