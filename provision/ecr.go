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

// repositories reads every service's repository in one call (and each one's tags), once per
// run: name -> repository.
func repositories(ctx context.Context, e *Env) (map[string]tagged[ecrtypes.Repository], error) {
	return engine.Discover(e.Run, "ecr-repositories", func() (map[string]tagged[ecrtypes.Repository], error) {
		var names []string
		for _, svc := range e.Catalog {
			names = append(names, e.Names.Repository(svc.Name))
		}
		var repos []ecrtypes.Repository
		err := describeByNames([][]string{names}, "ECR repository", "ECR repositories", func(names []string) error {
			out, err := e.AWS.ECR.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: names})
			if err != nil {
				return err
			}
			repos = append(repos, out.Repositories...)
			return nil
		})
		if err != nil {
			return nil, err
		}
		return withTags(ctx, e, repos,
			func(r ecrtypes.Repository) string { return aws.ToString(r.RepositoryName) },
			func(r ecrtypes.Repository) string { return aws.ToString(r.RepositoryArn) },
			func(r ecrtypes.Repository) (map[string]string, error) {
				out, err := e.AWS.ECR.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: r.RepositoryArn})
				if err != nil {
					return nil, fmt.Errorf("reading the tags of ECR repository %s: %w", aws.ToString(r.RepositoryName), err)
				}
				return TagMap(out.Tags, func(t ecrtypes.Tag) (*string, *string) { return t.Key, t.Value }), nil
			})
	})
}

func (s ecrRepositoryStep) find(ctx context.Context, e *Env) (*ecrtypes.Repository, error) {
	all, err := repositories(ctx, e)
	if err != nil {
		return nil, err
	}
	return findByName(e, "ECR repository", e.Names.Repository(s.svc.Name), all,
		func(r *ecrtypes.Repository) string { return aws.ToString(r.RepositoryArn) })
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
		if err := recordCreated(e, s.key(), repoRecord(out.Repository), "ECR repository "+name, name); err != nil {
			return err
		}
		return s.putLifecyclePolicy(ctx, e, lifecyclePolicyInput(name))
	}
	if err := e.Record(s.key(), repoRecord(repo)); err != nil {
		return err
	}
	scan, err := scanOnPushCorrection(*repo)
	if err != nil {
		return err
	}
	report := changeReport{e: e, resource: "ECR repository " + name, id: name}
	if scan != nil {
		if _, err := e.AWS.ECR.PutImageScanningConfiguration(ctx, scan); err != nil {
			return fmt.Errorf("turning on scan-on-push for %s: %w", name, err)
		}
		report.corrected("scan on push")
	}
	lp, err := e.AWS.ECR.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(name)})
	if err != nil && !cloud.IsNotFound(err) {
		return fmt.Errorf("reading the lifecycle policy of %s: %w", name, err)
	}
	if put := lifecyclePolicyCorrection(name, lp); put != nil {
		if err := s.putLifecyclePolicy(ctx, e, put); err != nil {
			return err
		}
		report.corrected("lifecycle policy")
	}
	report.done()
	return nil
}

func (s ecrRepositoryStep) putLifecyclePolicy(ctx context.Context, e *Env, in *ecr.PutLifecyclePolicyInput) error {
	if _, err := e.AWS.ECR.PutLifecyclePolicy(ctx, in); err != nil {
		return fmt.Errorf("putting the lifecycle policy of %s: %w", aws.ToString(in.RepositoryName), err)
	}
	return nil
}

// scanOnPushCorrection is the call that turns scan on push back on, nil when it is on. The
// encryption cannot change: a repository not encrypted with AES256 is an error.
func scanOnPushCorrection(repo ecrtypes.Repository) (*ecr.PutImageScanningConfigurationInput, error) {
	name := aws.ToString(repo.RepositoryName)
	if repo.EncryptionConfiguration != nil && repo.EncryptionConfiguration.EncryptionType != ecrtypes.EncryptionTypeAes256 {
		return nil, fmt.Errorf("ECR repository %s is encrypted with %s, not AES256; encryption cannot change: delete the repository to recreate it", name, repo.EncryptionConfiguration.EncryptionType)
	}
	if repo.ImageScanningConfiguration != nil && repo.ImageScanningConfiguration.ScanOnPush {
		return nil, nil
	}
	return &ecr.PutImageScanningConfigurationInput{
		RepositoryName: aws.String(name), ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true},
	}, nil
}

// lifecyclePolicyCorrection is the call that puts tapctl's lifecycle policy back, nil when the
// repository has it; current is GetLifecyclePolicy's answer, nil when it has none.
func lifecyclePolicyCorrection(name string, current *ecr.GetLifecyclePolicyOutput) *ecr.PutLifecyclePolicyInput {
	want := lifecyclePolicyInput(name)
	if current != nil && sameJSON(aws.ToString(current.LifecyclePolicyText), aws.ToString(want.LifecyclePolicyText)) {
		return nil
	}
	return want
}

func lifecyclePolicyInput(name string) *ecr.PutLifecyclePolicyInput {
	return &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String(name), LifecyclePolicyText: aws.String(repositoryLifecyclePolicy())}
}

func (s ecrRepositoryStep) Down(ctx context.Context, e *Env) error {
	repo, err := s.find(ctx, e)
	if err != nil {
		return err
	}
	name := e.Names.Repository(s.svc.Name)
	return deleteThenForget(e, s.key(), repo != nil, "ECR repository "+name, name, func() error {
		// Force: the images go with the repository, as SPEC row 11 asks.
		_, err := e.AWS.ECR.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String(name), Force: true})
		return err
	})
}

func (s ecrRepositoryStep) Inspect(ctx context.Context, e *Env) []Status {
	repo, err := s.find(ctx, e)
	return []Status{{Resource: "ECR repository " + e.Names.Repository(s.svc.Name), StateID: e.StateID(s.key()),
		AWS: engine.Observe(err, repo != nil, func() string { return aws.ToString(repo.RepositoryUri) })}}
}
