package provision

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/state"
)

// logRetentionDays is SPEC row 17's retention.
const logRetentionDays = 7

// logGroupStep owns a service's encrypted log group.
type logGroupStep struct{ svc catalog.Service }

func (s logGroupStep) Name() string        { return s.svc.Name + "/log-group" }
func (s logGroupStep) DependsOn() []string { return []string{"log-key"} }
func (s logGroupStep) key() string         { return s.Name() }

func (s logGroupStep) find(ctx context.Context, e *Env) (*logtypes.LogGroup, error) {
	all, err := discover(e, "log-groups", func() (map[string]logtypes.LogGroup, error) {
		ours := map[string]bool{}
		for _, svc := range e.Catalog {
			ours[e.Names.LogGroup(svc.Name)] = true
		}
		found := map[string]logtypes.LogGroup{}
		p := cloudwatchlogs.NewDescribeLogGroupsPaginator(e.AWS.Logs, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/ecs/")})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("describing log groups /ecs/*: %w", err)
			}
			for _, lg := range page.LogGroups {
				if ours[aws.ToString(lg.LogGroupName)] {
					found[aws.ToString(lg.LogGroupName)] = lg
				}
			}
		}
		return found, nil
	})
	if err != nil {
		return nil, err
	}
	if lg, ok := all[e.Names.LogGroup(s.svc.Name)]; ok {
		return &lg, nil
	}
	return nil, nil
}

func (s logGroupStep) Up(ctx context.Context, e *Env) error {
	keyARN, err := e.LogKeyARN()
	if err != nil {
		return err
	}
	name := e.Names.LogGroup(s.svc.Name)
	lg, err := s.find(ctx, e)
	if err != nil {
		return err
	}
	if lg == nil {
		if _, err := e.AWS.Logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{
			LogGroupName: aws.String(name), KmsKeyId: aws.String(keyARN), Tags: e.Tags(name, s.svc.Name),
		}); cloud.HasCode(err, "ResourceAlreadyExistsException") {
			// The listing skipped it (a paged listing can, while other groups are deleted):
			// adopt it, setting retention and key as for a new one.
			if _, err := e.AWS.Logs.AssociateKmsKey(ctx, &cloudwatchlogs.AssociateKmsKeyInput{LogGroupName: aws.String(name), KmsKeyId: aws.String(keyARN)}); err != nil {
				return fmt.Errorf("associating key %s with log group %s: %w", keyARN, name, err)
			}
		} else if err != nil {
			return fmt.Errorf("creating log group %s: %w", name, err)
		}
		if err := e.Record(s.key(), state.Resource{ID: name}); err != nil {
			return err
		}
		e.Created("log group "+name, name)
		if _, err := e.AWS.Logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(name), RetentionInDays: aws.Int32(logRetentionDays)}); err != nil {
			return fmt.Errorf("setting retention of log group %s: %w", name, err)
		}
		return nil
	}
	if err := e.Record(s.key(), state.Resource{ID: name}); err != nil {
		return err
	}
	changed := false
	if aws.ToInt32(lg.RetentionInDays) != logRetentionDays {
		if _, err := e.AWS.Logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(name), RetentionInDays: aws.Int32(logRetentionDays)}); err != nil {
			return fmt.Errorf("setting retention of log group %s: %w", name, err)
		}
		e.Updated("log group "+name, name, fmt.Sprintf("retention %d -> %d days", aws.ToInt32(lg.RetentionInDays), logRetentionDays))
		changed = true
	}
	if aws.ToString(lg.KmsKeyId) != keyARN {
		if _, err := e.AWS.Logs.AssociateKmsKey(ctx, &cloudwatchlogs.AssociateKmsKeyInput{LogGroupName: aws.String(name), KmsKeyId: aws.String(keyARN)}); err != nil {
			return fmt.Errorf("associating key %s with log group %s: %w", keyARN, name, err)
		}
		e.Updated("log group "+name, name, "encryption key")
		changed = true
	}
	if !changed {
		e.Unchanged("log group "+name, name)
	}
	return nil
}

// Down deletes the log group the listing shows or the state file records, by its name: a
// listing paged while other log groups are deleted can skip one.
func (s logGroupStep) Down(ctx context.Context, e *Env) error {
	lg, err := s.find(ctx, e)
	if err != nil {
		return err
	}
	if lg != nil || e.StateID(s.key()) != "" {
		name := e.Names.LogGroup(s.svc.Name)
		_, err := e.AWS.Logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(name)})
		switch {
		case cloud.IsNotFound(err):
		case err != nil:
			return fmt.Errorf("deleting log group %s: %w", name, err)
		default:
			e.Deleted("log group "+name, name)
		}
	}
	return e.Forget(s.key())
}

func (s logGroupStep) Inspect(ctx context.Context, e *Env) []Status {
	lg, err := s.find(ctx, e)
	return []Status{{Resource: "log group " + e.Names.LogGroup(s.svc.Name), StateID: e.StateID(s.key()),
		AWS: describeState(err, lg != nil, func() string { return fmt.Sprintf("retention %d days", aws.ToInt32(lg.RetentionInDays)) })}}
}
