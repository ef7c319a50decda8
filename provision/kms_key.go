package provision

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// logKeyStep owns the KMS key that encrypts the services' log groups, its policy, rotation and alias.
type logKeyStep struct{}

func (logKeyStep) Name() string        { return keyLogKey }
func (logKeyStep) DependsOn() []string { return nil }

// keyPolicy is SPEC row 7's policy. Key policies must name Resource "*" (it means "this key"),
// and the account root's kms:* is AWS's own default statement that keeps the key manageable.
// Every ARN and the service principal are spelled for the caller's partition.
func keyPolicy(e *Env) policyDocument {
	root := policyStatement{
		Sid: "AccountRootFullAccess", Effect: "Allow",
		Principal: &policyPrincipal{AWS: e.arnIn("iam", "", e.Account, "root")},
		Action:    []string{"kms:*"}, Resource: []string{"*"},
	}
	logs := policyStatement{
		Sid: "CloudWatchLogsUse", Effect: "Allow",
		Principal: &policyPrincipal{Service: logsPrincipal(e)},
		Action:    []string{"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"},
		Resource:  []string{"*"},
		Condition: map[string]map[string]string{"ArnLike": {
			"kms:EncryptionContext:aws:logs:arn": e.arn("logs", "log-group:*"),
		}},
	}
	return newPolicy(root, logs)
}

// logsPrincipal is CloudWatch Logs in the key's own region, as the key policy must name it
// ("Encrypt log data in CloudWatch Logs using AWS KMS", step 2: "logs.region.amazonaws.com",
// in the same Region as the key;
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html). That
// page shows no China spelling; the regional principal takes the partition's DNS suffix,
// amazonaws.com.cn in aws-cn (AWS CDK's region-info lists logs as "regional and partitional";
// Terraform's aws_service_principal gives logs.cn-north-1.amazonaws.com.cn).
func logsPrincipal(e *Env) string {
	return "logs." + e.Region + "." + e.dnsSuffix()
}

// logKeyFound is the environment's key and whether its alias already points at it.
type logKeyFound struct {
	key     *kmstypes.KeyMetadata
	aliasOK bool
}

// findLogKey looks the key up by the state file's ID, then through its alias (the alias names
// the key it points at, which must be the environment's: AWS cannot tag an alias), then by its
// tags: after a teardown the alias is gone and the key pending deletion. Once per run.
func findLogKey(ctx context.Context, e *Env) (key *kmstypes.KeyMetadata, aliasOK bool, err error) {
	found, err := engine.Discover(e.Run, "log-key", func() (logKeyFound, error) {
		describe := func(id string) (*kmstypes.KeyMetadata, error) {
			out, err := e.AWS.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
			if cloud.IsNotFound(err) {
				return nil, nil
			}
			if err != nil {
				return nil, fmt.Errorf("describing key %s: %w", id, err)
			}
			return out.KeyMetadata, nil
		}
		aliased, err := describe(e.Names.KeyAlias())
		if err != nil {
			return logKeyFound{}, err
		}
		key, err := engine.FindOwned(e.Run, engine.Lookup[kmstypes.KeyMetadata]{
			Kind: "KMS key", Name: e.Names.KeyAlias(), StateID: e.StateID(keyLogKey),
			ByID: func(id string) (*kmstypes.KeyMetadata, error) {
				if aliased != nil && aws.ToString(aliased.KeyId) == id {
					return aliased, nil // the alias already named it: no second call
				}
				return describe(id)
			},
			ByName: func() (*kmstypes.KeyMetadata, error) { return aliased, nil },
			ByTags: func() ([]*kmstypes.KeyMetadata, error) {
				if aliased != nil {
					return nil, nil // the alias names the key: no need to list every key
				}
				return logKeysByTags(ctx, e)
			},
			Tags: func(k *kmstypes.KeyMetadata) (map[string]string, error) {
				return keyTags(ctx, e, k)
			},
			ID: func(k *kmstypes.KeyMetadata) string { return aws.ToString(k.KeyId) },
		})
		if err != nil || key == nil {
			return logKeyFound{}, err
		}
		aliasOK := aliased != nil && aws.ToString(aliased.KeyId) == aws.ToString(key.KeyId)
		if aliased != nil && !aliasOK {
			// up would move the alias to this key: the key it names now must be ours too.
			tags, err := keyTags(ctx, e, aliased)
			if err != nil {
				return logKeyFound{}, err
			}
			if err := e.Prove("KMS alias", e.Names.KeyAlias()+" (key "+aws.ToString(aliased.KeyId)+")", tags, false); err != nil {
				return logKeyFound{}, e.ForeignByName(err)
			}
		}
		return logKeyFound{key: key, aliasOK: aliasOK}, nil
	})
	return found.key, found.aliasOK, err
}

func keyTags(ctx context.Context, e *Env, key *kmstypes.KeyMetadata) (map[string]string, error) {
	id := aws.ToString(key.KeyId)
	return tagsByARN(ctx, e, aws.ToString(key.Arn), func() (map[string]string, error) {
		out, err := e.AWS.KMS.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("reading the tags of key %s: %w", id, err)
		}
		return TagMap(out.Tags, func(t kmstypes.Tag) (*string, *string) { return t.TagKey, t.TagValue }), nil
	})
}

// logKeysByTags lists the account's keys and keeps those tagged as the environment's log key.
func logKeysByTags(ctx context.Context, e *Env) ([]*kmstypes.KeyMetadata, error) {
	var found []*kmstypes.KeyMetadata
	p := kms.NewListKeysPaginator(e.AWS.KMS, &kms.ListKeysInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing KMS keys: %w", err)
		}
		for _, k := range page.Keys {
			tags, err := e.AWS.KMS.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: k.KeyId})
			if err != nil {
				continue // AWS managed keys and keys of other principals may refuse; not ours
			}
			have := TagMap(tags.Tags, func(t kmstypes.Tag) (*string, *string) { return t.TagKey, t.TagValue })
			if !e.Owns(have) || have[TagName] != e.Names.KeyAlias() {
				continue
			}
			out, err := e.AWS.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})
			if err != nil {
				return nil, fmt.Errorf("describing key %s: %w", aws.ToString(k.KeyId), err)
			}
			if out.KeyMetadata.KeyState != kmstypes.KeyStatePendingReplicaDeletion {
				found = append(found, out.KeyMetadata)
			}
		}
	}
	return found, nil
}

func (logKeyStep) Claim(ctx context.Context, e *Env) error {
	_, _, err := findLogKey(ctx, e)
	return err
}

// LogKeyARN is the key the log groups are encrypted with.
func (e *Env) LogKeyARN() (string, error) {
	r, err := e.Require(keyLogKey)
	return r.ARN, err
}

func (logKeyStep) Up(ctx context.Context, e *Env) error {
	key, aliasOK, err := findLogKey(ctx, e)
	if err != nil {
		return err
	}
	policy := keyPolicy(e).String()
	if key == nil {
		tags := tagList(e, e.Names.KeyAlias(), "", func(k, v string) kmstypes.Tag { return kmstypes.Tag{TagKey: aws.String(k), TagValue: aws.String(v)} })
		// The policy is part of the create call, so it exists before any log group uses the key.
		out, err := e.AWS.KMS.CreateKey(ctx, &kms.CreateKeyInput{
			Description: aws.String("tapctl log encryption key of environment " + e.Name),
			Policy:      aws.String(policy),
			Tags:        tags,
		})
		if err != nil {
			return fmt.Errorf("creating KMS key for %s: %w", e.Names.KeyAlias(), err)
		}
		key = out.KeyMetadata
		if err := recordCreated(e, keyLogKey, state.Resource{ID: aws.ToString(key.KeyId), ARN: aws.ToString(key.Arn)}, "KMS key "+e.Names.KeyAlias(), aws.ToString(key.KeyId)); err != nil {
			return err
		}
		if _, err := e.AWS.KMS.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: key.KeyId}); err != nil {
			return fmt.Errorf("enabling rotation of key %s: %w", aws.ToString(key.KeyId), err)
		}
		return ensureAlias(ctx, e, aws.ToString(key.KeyId), false)
	}
	id := aws.ToString(key.KeyId)
	if err := e.Record(keyLogKey, state.Resource{ID: id, ARN: aws.ToString(key.Arn)}); err != nil {
		return err
	}
	report := changeReport{e: e, resource: "KMS key " + e.Names.KeyAlias(), id: id}
	cancel, enable := keyRevival(key.KeyState)
	if cancel {
		// An earlier down scheduled it; keys cannot be deleted at once, so take it back.
		if _, err := e.AWS.KMS.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: aws.String(id)}); err != nil {
			return fmt.Errorf("cancelling the deletion of key %s: %w", id, err)
		}
		report.corrected("deletion cancelled")
	}
	if enable {
		if _, err := e.AWS.KMS.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(id)}); err != nil {
			return fmt.Errorf("enabling key %s: %w", id, err)
		}
		report.corrected("enabled")
	}
	pol, err := e.AWS.KMS.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(id), PolicyName: aws.String("default")})
	if err != nil {
		return fmt.Errorf("reading the policy of key %s: %w", id, err)
	}
	if put := keyPolicyCorrection(id, aws.ToString(pol.Policy), policy); put != nil {
		if _, err := e.AWS.KMS.PutKeyPolicy(ctx, put); err != nil {
			return fmt.Errorf("putting the policy of key %s: %w", id, err)
		}
		report.corrected("key policy")
	}
	rot, err := e.AWS.KMS.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(id)})
	if err != nil {
		return fmt.Errorf("reading the rotation of key %s: %w", id, err)
	}
	if enable := keyRotationCorrection(id, rot.KeyRotationEnabled); enable != nil {
		if _, err := e.AWS.KMS.EnableKeyRotation(ctx, enable); err != nil {
			return fmt.Errorf("enabling rotation of key %s: %w", id, err)
		}
		report.corrected("rotation enabled")
	}
	if !aliasOK {
		if err := ensureAlias(ctx, e, id, true); err != nil {
			return err
		}
		report.changed = true // ensureAlias reported it
	}
	report.done()
	return nil
}

// keyRevival is what takes the environment's key back into use: a key an earlier down
// scheduled for deletion has its deletion cancelled, which leaves it disabled, and a disabled
// key is enabled.
func keyRevival(state kmstypes.KeyState) (cancelDeletion, enable bool) {
	cancelDeletion = state == kmstypes.KeyStatePendingDeletion
	return cancelDeletion, cancelDeletion || state == kmstypes.KeyStateDisabled
}

// keyPolicyCorrection puts SPEC row 7's policy back; nil when the key's policy means the same.
func keyPolicyCorrection(keyID, have, want string) *kms.PutKeyPolicyInput {
	if samePolicy(have, want) {
		return nil
	}
	return &kms.PutKeyPolicyInput{KeyId: aws.String(keyID), PolicyName: aws.String("default"), Policy: aws.String(want)}
}

// keyRotationCorrection turns yearly rotation back on; nil when it is on.
func keyRotationCorrection(keyID string, rotationOn bool) *kms.EnableKeyRotationInput {
	if rotationOn {
		return nil
	}
	return &kms.EnableKeyRotationInput{KeyId: aws.String(keyID)}
}

// ensureAlias points the alias at the key: created when missing, moved when it names another key.
func ensureAlias(ctx context.Context, e *Env, keyID string, mayExist bool) error {
	alias := e.Names.KeyAlias()
	_, err := e.AWS.KMS.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(keyID)})
	if mayExist && cloud.HasCode(err, "AlreadyExistsException") {
		_, err = e.AWS.KMS.UpdateAlias(ctx, &kms.UpdateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(keyID)})
	}
	if err != nil {
		return fmt.Errorf("pointing alias %s at key %s: %w", alias, keyID, err)
	}
	e.Updated("KMS key "+alias, keyID, "alias")
	return nil
}

func (logKeyStep) Down(ctx context.Context, e *Env) error {
	key, aliasOK, err := findLogKey(ctx, e)
	if err != nil {
		return err
	}
	// The alias and the key go side by side: each is found again by the next down if the other
	// one's call was the last this one made.
	if err := eachAtOnce(2, func(i int) error {
		if i == 0 && aliasOK {
			if _, err := e.AWS.KMS.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String(e.Names.KeyAlias())}); err != nil && !cloud.IsNotFound(err) {
				return fmt.Errorf("deleting alias %s: %w", e.Names.KeyAlias(), err)
			}
		}
		if i == 1 && key != nil && key.KeyState != kmstypes.KeyStatePendingDeletion {
			id := aws.ToString(key.KeyId)
			// KMS keys cannot be deleted at once; 7 days is the shortest window. The next up of
			// this environment cancels the deletion and reuses the key.
			if _, err := e.AWS.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(id), PendingWindowInDays: aws.Int32(7)}); err != nil && !cloud.IsNotFound(err) {
				return fmt.Errorf("scheduling deletion of key %s: %w", id, err)
			}
			e.Deleted("KMS key "+e.Names.KeyAlias()+" (deletion in 7 days)", id)
		}
		return nil
	}); err != nil {
		return err
	}
	return e.Forget(keyLogKey)
}

func (logKeyStep) Inspect(ctx context.Context, e *Env) []Status {
	key, _, err := findLogKey(ctx, e)
	return []Status{{Resource: "KMS key " + e.Names.KeyAlias(), StateID: e.StateID(keyLogKey),
		AWS: engine.Observe(err, key != nil, func() string { return string(key.KeyState) })}}
}
