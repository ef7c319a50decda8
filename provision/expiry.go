package provision

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tapctl/tapctl/cloud"
)

// An environment's expiry (up --ttl) is one tag on one anchor resource, its database secret:
//   - every environment has the secret, and it is one of the first resources up makes (it
//     depends on nothing), so even an up that fails later leaves an expiry behind;
//   - the Resource Groups Tagging API lists secrets with their tags, so list and gc read every
//     environment's expiry in the one GetResources call they already make, without state files;
//   - one resource means one TagResource call per up --ttl, and none for an up without --ttl:
//     retagging every resource on every push would cost dozens of mutating calls and make a
//     converged environment look changed.
//
// The secret goes with down, and its tag with it.

// TagExpires holds when the environment may be deleted by tapctl gc, in RFC 3339, UTC, to the
// second. It is namespaced so that it cannot meet a tag of the user's own.
const TagExpires = "tapctl:expires"

// FormatExpiry is how TagExpires writes a time.
func FormatExpiry(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// ParseExpiry reads a TagExpires value; false when it is not one (gc never acts on a date it
// cannot read).
func ParseExpiry(v string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// ExpiryStep marks the environment as expiring at expires: up --ttl adds it to the platform's
// steps. It runs right after the secret step, which found and proved the secret or created it.
func ExpiryStep(expires time.Time) Step { return expiryStep{expires: expires} }

type expiryStep struct{ expires time.Time }

func (expiryStep) Name() string        { return "expiry" }
func (expiryStep) DependsOn() []string { return []string{keySecret} }

// Claim has nothing of its own to prove: the secret step proves the secret.
func (expiryStep) Claim(context.Context, *Env) error { return nil }

func (s expiryStep) Up(ctx context.Context, e *Env) error {
	// Recorded by the secret step of this run, after it proved the secret the environment's or
	// created it: tagging it needs no other proof.
	arn := e.StateID(keySecret)
	if arn == "" {
		return fmt.Errorf("secret of environment %s is not in the state file; run up", e.Name)
	}
	want := FormatExpiry(s.expires)
	resource := "secret " + e.Names.Secret()
	// What the run found at its start (nil when the secret step just created it).
	if found, err := findSecret(ctx, e); err == nil && found != nil {
		for _, t := range found.Tags {
			if aws.ToString(t.Key) == TagExpires && aws.ToString(t.Value) == want {
				e.Unchanged(resource, arn)
				return nil
			}
		}
	}
	_, err := e.AWS.Secrets.TagResource(ctx, &sm.TagResourceInput{SecretId: aws.String(arn),
		Tags: []smtypes.Tag{{Key: aws.String(TagExpires), Value: aws.String(want)}}})
	if err != nil {
		return fmt.Errorf("tagging secret %s with %s=%s: %w", e.Names.Secret(), TagExpires, want, err)
	}
	e.Updated(resource, arn, TagExpires+"="+want)
	return nil
}

// Down leaves the tag to the secret step, which deletes the secret.
func (expiryStep) Down(context.Context, *Env) error { return nil }

func (expiryStep) Inspect(context.Context, *Env) []Status { return nil }

// Expiry reads the environment's expiry from its secret itself, not from the tagging index,
// which lags tag changes: gc asks again under the environment's lock, so that an up --ttl that
// extended the environment since gc listed it wins. The secret is proven the environment's
// first. ok is false when the environment has no secret or no readable expiry.
func Expiry(ctx context.Context, e *Env) (expires time.Time, ok bool, err error) {
	found, err := findSecret(cloud.WithStep(ctx, "expiry"), e)
	if err != nil || found == nil || found.DeletedDate != nil {
		return time.Time{}, false, err
	}
	for _, t := range found.Tags {
		if aws.ToString(t.Key) == TagExpires {
			expires, ok = ParseExpiry(aws.ToString(t.Value))
			return expires, ok, nil
		}
	}
	return time.Time{}, false, nil
}

var _ Step = expiryStep{}
