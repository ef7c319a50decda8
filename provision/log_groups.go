package provision

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// logRetentionDays is SPEC row 17's retention.
const logRetentionDays = 7

// logGroupStep owns a service's encrypted log group.
type logGroupStep struct{ svc catalog.Service }

func (s logGroupStep) Name() string        { return serviceKey(s.svc.Name, kindLogGroup) }
func (s logGroupStep) DependsOn() []string { return []string{keyLogKey} }
func (s logGroupStep) key() string         { return s.Name() }

// logGroups reads the services' log groups (one listing by the environment's name pattern)
// and each one's tags, once per run.
func logGroups(ctx context.Context, e *Env) (map[string]tagged[logtypes.LogGroup], error) {
	return engine.Discover(e.Run, "log-groups", func() (map[string]tagged[logtypes.LogGroup], error) {
		ours := map[string]bool{}
		for _, svc := range e.Catalog {
			ours[e.Names.LogGroup(svc.Name)] = true
		}
		found := map[string]tagged[logtypes.LogGroup]{}
		// A substring search: every name is /ecs/{svc}-service-{env}; the exact names are kept.
		pattern := "-service-" + e.Name
		p := cloudwatchlogs.NewDescribeLogGroupsPaginator(e.AWS.Logs, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePattern: aws.String(pattern)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("describing log groups *%s*: %w", pattern, err)
			}
			for _, lg := range page.LogGroups {
				name := aws.ToString(lg.LogGroupName)
				if !ours[name] {
					continue
				}
				tags, err := logGroupTags(ctx, e, name)
				if err != nil {
					return nil, err
				}
				found[name] = tagged[logtypes.LogGroup]{lg, tags}
			}
		}
		return found, nil
	})
}

// logGroupTags reads a log group's tags by its name; nil when there is no such group.
func logGroupTags(ctx context.Context, e *Env, name string) (map[string]string, error) {
	arn := e.arn("logs", "log-group:"+name)
	return tagsByARN(ctx, e, arn, func() (map[string]string, error) {
		out, err := e.AWS.Logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if cloud.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the tags of log group %s: %w", name, err)
		}
		if out.Tags == nil {
			out.Tags = map[string]string{}
		}
		return out.Tags, nil
	})
}

// find looks the log group up in the listing. byName, it asks AWS for the group by its name
// instead: for a group the state file records or a create says exists, which a listing paged
// while other groups were deleted can skip.
func (s logGroupStep) find(ctx context.Context, e *Env, byName bool) (*logtypes.LogGroup, error) {
	name := e.Names.LogGroup(s.svc.Name)
	id := func(*logtypes.LogGroup) string { return name }
	if byName {
		tags, err := logGroupTags(ctx, e, name)
		if tags == nil {
			return nil, err
		}
		return findByName(e, "log group", name, map[string]tagged[logtypes.LogGroup]{
			name: {logtypes.LogGroup{LogGroupName: aws.String(name)}, tags},
		}, id)
	}
	all, err := logGroups(ctx, e)
	if err != nil {
		return nil, err
	}
	return findByName(e, "log group", name, all, id)
}

func (s logGroupStep) Claim(ctx context.Context, e *Env) error {
	_, err := s.find(ctx, e, false)
	return err
}

func (s logGroupStep) Up(ctx context.Context, e *Env) error {
	keyARN, err := e.LogKeyARN()
	if err != nil {
		return err
	}
	name := e.Names.LogGroup(s.svc.Name)
	lg, err := s.find(ctx, e, false)
	if err != nil {
		return err
	}
	if lg == nil {
		return s.create(ctx, e, name, keyARN)
	}
	if err := e.Record(s.key(), state.Resource{ID: name}); err != nil {
		return err
	}
	fix := logGroupCorrections(*lg, keyARN)
	report := changeReport{e: e, resource: "log group " + name, id: name}
	if fix.retention != nil {
		if err := putRetention(ctx, e, fix.retention); err != nil {
			return err
		}
		report.corrected(fmt.Sprintf("retention %d -> %d days", aws.ToInt32(lg.RetentionInDays), logRetentionDays))
	}
	if fix.key != nil {
		if err := associateKey(ctx, e, fix.key); err != nil {
			return err
		}
		report.corrected("encryption key")
	}
	report.done()
	return nil
}

func (s logGroupStep) create(ctx context.Context, e *Env, name, keyARN string) error {
	if _, err := e.AWS.Logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{
		LogGroupName: aws.String(name), KmsKeyId: aws.String(keyARN), Tags: e.Tags(name, s.svc.Name),
	}); cloud.HasCode(err, "ResourceAlreadyExistsException") {
		// The listing skipped it (a paged listing can, while other groups are deleted):
		// adopt it once it is proven ours, setting retention and key as for a new one.
		if _, err := s.find(ctx, e, true); err != nil {
			return err
		}
		if err := associateKey(ctx, e, logGroupKeyInput(name, keyARN)); err != nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("creating log group %s: %w", name, err)
	}
	if err := recordCreated(e, s.key(), state.Resource{ID: name}, "log group "+name, name); err != nil {
		return err
	}
	return putRetention(ctx, e, logGroupRetentionInput(name))
}

// logGroupFixes are the calls that bring a log group back to the spec, nil where it matches.
type logGroupFixes struct {
	retention *cloudwatchlogs.PutRetentionPolicyInput
	key       *cloudwatchlogs.AssociateKmsKeyInput
}

// logGroupCorrections compares a log group's retention and key with SPEC row 17's.
func logGroupCorrections(lg logtypes.LogGroup, keyARN string) logGroupFixes {
	var fix logGroupFixes
	name := aws.ToString(lg.LogGroupName)
	if aws.ToInt32(lg.RetentionInDays) != logRetentionDays {
		fix.retention = logGroupRetentionInput(name)
	}
	if aws.ToString(lg.KmsKeyId) != keyARN {
		fix.key = logGroupKeyInput(name, keyARN)
	}
	return fix
}

func logGroupRetentionInput(name string) *cloudwatchlogs.PutRetentionPolicyInput {
	return &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(name), RetentionInDays: aws.Int32(logRetentionDays)}
}

func logGroupKeyInput(name, keyARN string) *cloudwatchlogs.AssociateKmsKeyInput {
	return &cloudwatchlogs.AssociateKmsKeyInput{LogGroupName: aws.String(name), KmsKeyId: aws.String(keyARN)}
}

func putRetention(ctx context.Context, e *Env, in *cloudwatchlogs.PutRetentionPolicyInput) error {
	if _, err := e.AWS.Logs.PutRetentionPolicy(ctx, in); err != nil {
		return fmt.Errorf("setting retention of log group %s: %w", aws.ToString(in.LogGroupName), err)
	}
	return nil
}

func associateKey(ctx context.Context, e *Env, in *cloudwatchlogs.AssociateKmsKeyInput) error {
	if _, err := e.AWS.Logs.AssociateKmsKey(ctx, in); err != nil {
		return fmt.Errorf("associating key %s with log group %s: %w", aws.ToString(in.KmsKeyId), aws.ToString(in.LogGroupName), err)
	}
	return nil
}

// Down deletes the log group the listing shows or the state file records, by its name: a
// listing paged while other log groups are deleted can skip one.
func (s logGroupStep) Down(ctx context.Context, e *Env) error {
	lg, err := s.find(ctx, e, false)
	if err == nil && lg == nil && e.StateID(s.key()) != "" {
		lg, err = s.find(ctx, e, true)
	}
	if err != nil {
		return err
	}
	if lg != nil {
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
	lg, err := s.find(ctx, e, false)
	return []Status{{Resource: "log group " + e.Names.LogGroup(s.svc.Name), StateID: e.StateID(s.key()),
		AWS: engine.Observe(err, lg != nil, func() string { return fmt.Sprintf("retention %d days", aws.ToInt32(lg.RetentionInDays)) })}}
}
