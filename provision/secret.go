package provision

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// dbUsername is the source design's database user (SPEC row 6).
const dbUsername = "dbadmin"

// secretStep owns the database credentials. Their value is generated once, by AWS, and goes
// straight from GetRandomPassword into CreateSecret: never printed, logged or stored locally.
type secretStep struct{}

func (secretStep) Name() string        { return keySecret }
func (secretStep) DependsOn() []string { return nil }

// findSecret reads the secret by the state file's ARN, then by its name, once per run.
func findSecret(ctx context.Context, e *Env) (*sm.DescribeSecretOutput, error) {
	return engine.Discover(e.Run, "secret", func() (*sm.DescribeSecretOutput, error) {
		describe := func(id string) (*sm.DescribeSecretOutput, error) {
			out, err := e.AWS.Secrets.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(id)})
			if cloud.IsNotFound(err) {
				return nil, nil
			}
			if err != nil {
				return nil, fmt.Errorf("describing secret %s: %w", id, err)
			}
			return out, nil
		}
		return engine.FindOwned(e.Run, engine.Lookup[sm.DescribeSecretOutput]{
			Kind: "secret", Name: e.Names.Secret(), StateID: e.StateID(keySecret),
			ByID:   describe,
			ByName: func() (*sm.DescribeSecretOutput, error) { return describe(e.Names.Secret()) },
			Tags: func(s *sm.DescribeSecretOutput) (map[string]string, error) {
				return TagMap(s.Tags, func(t smtypes.Tag) (*string, *string) { return t.Key, t.Value }), nil
			},
			ID: func(s *sm.DescribeSecretOutput) string { return aws.ToString(s.ARN) },
		})
	})
}

func (secretStep) Claim(ctx context.Context, e *Env) error {
	_, err := findSecret(ctx, e)
	return err
}

func (secretStep) Up(ctx context.Context, e *Env) error {
	name := e.Names.Secret()
	sec, err := findSecret(ctx, e)
	if err != nil {
		return err
	}
	var have *state.Resource
	drift := ""
	if sec != nil {
		arn := aws.ToString(sec.ARN)
		have = &state.Resource{ID: arn, ARN: arn}
		if sec.DeletedDate != nil {
			// A secret scheduled for deletion keeps its name until the window ends: reuse it.
			drift = "restored from scheduled deletion"
		}
	}
	return convergeNamed(e, keySecret, "secret "+name, have, func() (state.Resource, error) {
		return createSecret(ctx, e, name)
	}, drift, func() error {
		if _, err := e.AWS.Secrets.RestoreSecret(ctx, &sm.RestoreSecretInput{SecretId: aws.String(have.ID)}); err != nil {
			return fmt.Errorf("restoring secret %s scheduled for deletion: %w", name, err)
		}
		return nil
	})
}

// createSecret makes the secret with a password AWS generates; the value passes through
// memory only.
func createSecret(ctx context.Context, e *Env, name string) (state.Resource, error) {
	pw, err := e.AWS.Secrets.GetRandomPassword(ctx, &sm.GetRandomPasswordInput{
		PasswordLength: aws.Int64(32), ExcludePunctuation: aws.Bool(true), IncludeSpace: aws.Bool(false),
	})
	if err != nil {
		return state.Resource{}, fmt.Errorf("generating the password of secret %s: %w", name, err)
	}
	value, err := json.Marshal(struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}{dbUsername, aws.ToString(pw.RandomPassword)})
	if err != nil {
		return state.Resource{}, err
	}
	tags := tagList(e, name, "", func(k, v string) smtypes.Tag { return smtypes.Tag{Key: aws.String(k), Value: aws.String(v)} })
	out, err := e.AWS.Secrets.CreateSecret(ctx, &sm.CreateSecretInput{
		Name:         aws.String(name),
		Description:  aws.String("Database credentials of tapctl environment " + e.Name),
		SecretString: aws.String(string(value)),
		// The SDK fills ClientRequestToken, so its own retries of a lost answer stay idempotent;
		// a later run finds the secret by name instead.
		Tags: tags,
	})
	if err != nil {
		return state.Resource{}, fmt.Errorf("creating secret %s: %w", name, err)
	}
	return state.Resource{ID: aws.ToString(out.ARN), ARN: aws.ToString(out.ARN)}, nil
}

func (secretStep) Down(ctx context.Context, e *Env) error {
	sec, err := findSecret(ctx, e)
	if err != nil {
		return err
	}
	var arn string
	if sec != nil {
		arn = aws.ToString(sec.ARN)
	}
	return deleteThenForget(e, keySecret, sec != nil, "secret "+e.Names.Secret(), arn, func() error {
		// Without a recovery window the name is free at once for the next up of this environment.
		_, err := e.AWS.Secrets.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String(arn), ForceDeleteWithoutRecovery: aws.Bool(true)})
		return err
	})
}

func (secretStep) Inspect(ctx context.Context, e *Env) []Status {
	sec, err := findSecret(ctx, e)
	return []Status{{Resource: "secret " + e.Names.Secret(), StateID: e.StateID(keySecret),
		AWS: engine.Observe(err, sec != nil, func() string {
			if sec.DeletedDate != nil {
				return "scheduled for deletion"
			}
			return "present"
		})}}
}
