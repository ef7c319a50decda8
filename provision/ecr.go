package provision

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// ecrRepositoryStep owns a service's image repository (SPEC row 11).
type ecrRepositoryStep struct{ svc catalog.Service }

func (s ecrRepositoryStep) Name() string        { return serviceKey(s.svc.Name, kindECRRepository) }
func (s ecrRepositoryStep) DependsOn() []string { return nil }
func (s ecrRepositoryStep) key() string         { return s.Name() }

// keepLastImages is the lifecycle rule "keep only the last 10 images".
const keepLastImages = 10

type lifecyclePolicy struct {
	Rules []lifecycleRule `json:"rules"`
}

type lifecycleRule struct {
	RulePriority int                `json:"rulePriority"`
	Description  string             `json:"description"`
	Selection    lifecycleSelection `json:"selection"`
	Action       lifecycleAction    `json:"action"`
}

type lifecycleSelection struct {
	TagStatus   string `json:"tagStatus"`
	CountType   string `json:"countType"`
	CountNumber int    `json:"countNumber"`
}

type lifecycleAction struct {
	Type string `json:"type"`
}

func repositoryLifecyclePolicy() string {
	raw, _ := json.Marshal(lifecyclePolicy{Rules: []lifecycleRule{{
		RulePriority: 1, Description: fmt.Sprintf("Keep only the last %d images", keepLastImages),
		Selection: lifecycleSelection{TagStatus: "any", CountType: "imageCountMoreThan", CountNumber: keepLastImages},
		Action:    lifecycleAction{Type: "expire"},
	}}})
	return string(raw)
}

// foundRepositories are the environment's repositories by name, each with its tags.
type foundRepositories map[string]struct {
	repo ecrtypes.Repository
	tags map[string]string
}

// repositories reads every service's repository in one call (and each one's tags), once per run.
func repositories(ctx context.Context, e *Env) (foundRepositories, error) {
	return engine.Discover(e.Run, "ecr-repositories", func() (foundRepositories, error) {
		var names []string
		for _, svc := range e.Catalog {
			names = append(names, e.Names.Repository(svc.Name))
		}
		var repos []ecrtypes.Repository
		read := func(names []string) error {
			out, err := e.AWS.ECR.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: names})
			if err != nil {
				return err
			}
			repos = append(repos, out.Repositories...)
			return nil
		}
		// ECR refuses the whole call when one name is missing: then each is read on its own.
		if err := read(names); cloud.IsNotFound(err) {
			for _, name := range names {
				if err := read([]string{name}); err != nil && !cloud.IsNotFound(err) {
					return nil, fmt.Errorf("describing ECR repository %s: %w", name, err)
				}
			}
		} else if err != nil {
			return nil, fmt.Errorf("describing ECR repositories %v: %w", names, err)
		}
		found := foundRepositories{}
		for _, r := range repos {
			tags, err := tagsByARN(ctx, e, aws.ToString(r.RepositoryArn), func() (map[string]string, error) {
				out, err := e.AWS.ECR.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: r.RepositoryArn})
				if err != nil {
					return nil, fmt.Errorf("reading the tags of ECR repository %s: %w", aws.ToString(r.RepositoryName), err)
				}
				return tagMap(out.Tags, func(t ecrtypes.Tag) (*string, *string) { return t.Key, t.Value }), nil
			})
			if err != nil {
				return nil, err
			}
			found[aws.ToString(r.RepositoryName)] = struct {
				repo ecrtypes.Repository
				tags map[string]string
			}{r, tags}
		}
		return found, nil
	})
}

func (s ecrRepositoryStep) find(ctx context.Context, e *Env) (*ecrtypes.Repository, error) {
	all, err := repositories(ctx, e)
	if err != nil {
		return nil, err
	}
	name := e.Names.Repository(s.svc.Name)
	return engine.FindOwned(e.Run, engine.Lookup[ecrtypes.Repository]{
		Kind: "ECR repository", Name: name,
		ByName: func() (*ecrtypes.Repository, error) {
			if r, ok := all[name]; ok {
				return &r.repo, nil
			}
			return nil, nil
		},
		Tags: func(*ecrtypes.Repository) (map[string]string, error) { return all[name].tags, nil },
		ID:   func(r *ecrtypes.Repository) string { return aws.ToString(r.RepositoryArn) },
	})
}

func (s ecrRepositoryStep) Claim(ctx context.Context, e *Env) error {
	_, err := s.find(ctx, e)
	return err
}

func repoRecord(r *ecrtypes.Repository) state.Resource {
	return state.Resource{ID: aws.ToString(r.RepositoryName), ARN: aws.ToString(r.RepositoryArn), Attrs: map[string]string{attrURI: aws.ToString(r.RepositoryUri)}}
}

func (s ecrRepositoryStep) Up(ctx context.Context, e *Env) error {
	name := e.Names.Repository(s.svc.Name)
	repo, err := s.find(ctx, e)
	if err != nil {
		return err
	}
	policy := repositoryLifecyclePolicy()
	if repo == nil {
		tags := tagList(e, name, s.svc.Name, func(k, v string) ecrtypes.Tag { return ecrtypes.Tag{Key: aws.String(k), Value: aws.String(v)} })
		out, err := e.AWS.ECR.CreateRepository(ctx, &ecr.CreateRepositoryInput{
			RepositoryName:             aws.String(name),
			ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true},
			EncryptionConfiguration:    &ecrtypes.EncryptionConfiguration{EncryptionType: ecrtypes.EncryptionTypeAes256},
			Tags:                       tags,
		})
		if err != nil {
			return fmt.Errorf("creating ECR repository %s: %w", name, err)
		}
		if err := e.Record(s.key(), repoRecord(out.Repository)); err != nil {
			return err
		}
		e.Created("ECR repository "+name, name)
		if _, err := e.AWS.ECR.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String(name), LifecyclePolicyText: aws.String(policy)}); err != nil {
			return fmt.Errorf("putting the lifecycle policy of %s: %w", name, err)
		}
		return nil
	}
	if err := e.Record(s.key(), repoRecord(repo)); err != nil {
		return err
	}
	if repo.EncryptionConfiguration != nil && repo.EncryptionConfiguration.EncryptionType != ecrtypes.EncryptionTypeAes256 {
		return fmt.Errorf("ECR repository %s is encrypted with %s, not AES256; encryption cannot change: delete the repository to recreate it", name, repo.EncryptionConfiguration.EncryptionType)
	}
	changed := false
	if repo.ImageScanningConfiguration == nil || !repo.ImageScanningConfiguration.ScanOnPush {
		if _, err := e.AWS.ECR.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{
			RepositoryName: aws.String(name), ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true},
		}); err != nil {
			return fmt.Errorf("turning on scan-on-push for %s: %w", name, err)
		}
		e.Updated("ECR repository "+name, name, "scan on push")
		changed = true
	}
	lp, err := e.AWS.ECR.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(name)})
	if err != nil && !cloud.IsNotFound(err) {
		return fmt.Errorf("reading the lifecycle policy of %s: %w", name, err)
	}
	if err != nil || !sameJSON(aws.ToString(lp.LifecyclePolicyText), policy) {
		if _, err := e.AWS.ECR.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String(name), LifecyclePolicyText: aws.String(policy)}); err != nil {
			return fmt.Errorf("putting the lifecycle policy of %s: %w", name, err)
		}
		e.Updated("ECR repository "+name, name, "lifecycle policy")
		changed = true
	}
	if !changed {
		e.Unchanged("ECR repository "+name, name)
	}
	return nil
}

func (s ecrRepositoryStep) Down(ctx context.Context, e *Env) error {
	repo, err := s.find(ctx, e)
	if err != nil {
		return err
	}
	if repo != nil {
		name := aws.ToString(repo.RepositoryName)
		// Force: the images go with the repository, as SPEC row 11 asks.
		if _, err := e.AWS.ECR.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String(name), Force: true}); err != nil && !cloud.IsNotFound(err) {
			return fmt.Errorf("deleting ECR repository %s: %w", name, err)
		}
		e.Deleted("ECR repository "+name, name)
	}
	return e.Forget(s.key())
}

func (s ecrRepositoryStep) Inspect(ctx context.Context, e *Env) []Status {
	repo, err := s.find(ctx, e)
	return []Status{{Resource: "ECR repository " + e.Names.Repository(s.svc.Name), StateID: e.StateID(s.key()),
		AWS: engine.Observe(err, repo != nil, func() string { return aws.ToString(repo.RepositoryUri) })}}
}
