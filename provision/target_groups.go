package provision

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// Health check and draining of SPEC row 19.
const (
	healthInterval         = 30
	healthTimeout          = 5
	healthyThreshold       = 2
	unhealthyThreshold     = 3
	deregistrationDelay    = "30"
	deregistrationDelayKey = "deregistration_delay.timeout_seconds"
)

// targetGroupStep owns a service's target group: IP targets, HTTP on the service's port. The
// alternate one receives the new revision's tasks during a blue/green deployment.
type targetGroupStep struct {
	svc       catalog.Service
	alternate bool
}

func (s targetGroupStep) Name() string {
	if s.alternate {
		return serviceKey(s.svc.Name, kindAltTargetGroup)
	}
	return serviceKey(s.svc.Name, kindTargetGroup)
}

func (s targetGroupStep) groupName(e *Env) string {
	if s.alternate {
		return e.Names.AltTargetGroup(s.svc.Name)
	}
	return e.Names.TargetGroup(s.svc.Name)
}
func (s targetGroupStep) DependsOn() []string { return []string{keyVPC} }
func (s targetGroupStep) key() string         { return s.Name() }

func (s targetGroupStep) find(ctx context.Context, e *Env) (*elbtypes.TargetGroup, error) {
	all, err := targetGroups(ctx, e)
	if err != nil {
		return nil, err
	}
	return engine.FindOwned(e.Run, engine.Lookup[elbtypes.TargetGroup]{
		Kind: "target group", Name: s.groupName(e), StateID: e.StateID(s.key()),
		ByID: func(arn string) (*elbtypes.TargetGroup, error) {
			for _, g := range all.groups {
				if aws.ToString(g.TargetGroupArn) == arn {
					return &g, nil
				}
			}
			return nil, nil
		},
		ByName: func() (*elbtypes.TargetGroup, error) {
			if g, ok := all.groups[s.groupName(e)]; ok {
				return &g, nil
			}
			return nil, nil
		},
		Tags: func(g *elbtypes.TargetGroup) (map[string]string, error) {
			return all.tags[aws.ToString(g.TargetGroupArn)], nil
		},
		ID: targetGroupARN,
	})
}

func targetGroupARN(g *elbtypes.TargetGroup) string { return aws.ToString(g.TargetGroupArn) }

func (s targetGroupStep) Claim(ctx context.Context, e *Env) error {
	_, err := s.find(ctx, e)
	return err
}

// foundTargetGroups are the environment's target groups by name, and the tags of each by ARN.
type foundTargetGroups struct {
	groups map[string]elbtypes.TargetGroup
	tags   map[string]map[string]string
}

// targetGroups reads every target group of the environment in one call when they all exist;
// ELB refuses the whole call when one name is missing, and then each is read on its own. Their
// tags come in one more call (20 per call).
func targetGroups(ctx context.Context, e *Env) (foundTargetGroups, error) {
	return engine.Discover(e.Run, "target-groups", func() (foundTargetGroups, error) {
		var names []string
		for _, svc := range e.Catalog {
			names = append(names, e.Names.TargetGroup(svc.Name), e.Names.AltTargetGroup(svc.Name))
		}
		found := map[string]elbtypes.TargetGroup{}
		read := func(names []string) error {
			out, err := e.AWS.ELB.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: names})
			if err != nil {
				return err
			}
			for _, tg := range out.TargetGroups {
				found[aws.ToString(tg.TargetGroupName)] = tg
			}
			return nil
		}
		for _, batch := range chunks(names, 20) {
			err := read(batch)
			if cloud.IsNotFound(err) {
				for _, name := range batch {
					if err := read([]string{name}); err != nil && !cloud.IsNotFound(err) {
						return foundTargetGroups{}, fmt.Errorf("describing target group %s: %w", name, err)
					}
				}
				continue
			}
			if err != nil {
				return foundTargetGroups{}, fmt.Errorf("describing target groups %v: %w", batch, err)
			}
		}
		var arns []string
		for _, tg := range found {
			arns = append(arns, aws.ToString(tg.TargetGroupArn))
		}
		tags, err := elbTags(ctx, e, arns...)
		return foundTargetGroups{groups: found, tags: tags}, err
	})
}

func (s targetGroupStep) healthCheckDiffers(tg *elbtypes.TargetGroup) bool {
	return aws.ToString(tg.HealthCheckPath) != s.svc.HealthPath ||
		aws.ToInt32(tg.HealthCheckIntervalSeconds) != healthInterval ||
		aws.ToInt32(tg.HealthCheckTimeoutSeconds) != healthTimeout ||
		aws.ToInt32(tg.HealthyThresholdCount) != healthyThreshold ||
		aws.ToInt32(tg.UnhealthyThresholdCount) != unhealthyThreshold ||
		tg.HealthCheckProtocol != elbtypes.ProtocolEnumHttp
}

// fixedDiffers refuses a group whose VPC, target type or port is not the service's: ELB cannot
// change them.
func (s targetGroupStep) fixedDiffers(tg *elbtypes.TargetGroup, name, vpcID string) error {
	if aws.ToString(tg.VpcId) != vpcID || tg.TargetType != elbtypes.TargetTypeEnumIp || aws.ToInt32(tg.Port) != s.svc.Port {
		return fmt.Errorf("target group %s has VPC %s, type %s, port %d; these cannot change: delete it to recreate it",
			name, aws.ToString(tg.VpcId), tg.TargetType, aws.ToInt32(tg.Port))
	}
	return nil
}

// deregistrationDelayOf reads the draining time out of the group's attributes; "" when absent.
func deregistrationDelayOf(attrs []elbtypes.TargetGroupAttribute) string {
	delay := ""
	for _, a := range attrs {
		if aws.ToString(a.Key) == deregistrationDelayKey {
			delay = aws.ToString(a.Value)
		}
	}
	return delay
}

func (s targetGroupStep) Up(ctx context.Context, e *Env) error {
	vpcID, err := e.VPCID()
	if err != nil {
		return err
	}
	name := s.groupName(e)
	tg, err := s.find(ctx, e)
	if err != nil {
		return err
	}
	fresh := tg == nil
	if fresh {
		out, err := e.AWS.ELB.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{
			Name: aws.String(name), VpcId: aws.String(vpcID), TargetType: elbtypes.TargetTypeEnumIp,
			Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(s.svc.Port),
			HealthCheckProtocol: elbtypes.ProtocolEnumHttp, HealthCheckPath: aws.String(s.svc.HealthPath),
			HealthCheckIntervalSeconds: aws.Int32(healthInterval), HealthCheckTimeoutSeconds: aws.Int32(healthTimeout),
			HealthyThresholdCount: aws.Int32(healthyThreshold), UnhealthyThresholdCount: aws.Int32(unhealthyThreshold),
			Tags: e.elbTags(name, s.svc.Name),
		})
		if err != nil {
			return fmt.Errorf("creating target group %s: %w", name, err)
		}
		tg = &out.TargetGroups[0]
		if err := e.recordCreated(s.key(), "target group "+name, state.Resource{ID: aws.ToString(tg.TargetGroupArn)}); err != nil {
			return err
		}
	} else if err := e.Record(s.key(), state.Resource{ID: aws.ToString(tg.TargetGroupArn)}); err != nil {
		return err
	}
	arn := aws.ToString(tg.TargetGroupArn)
	if err := s.fixedDiffers(tg, name, vpcID); err != nil {
		return err
	}
	changed := false
	if !fresh && s.healthCheckDiffers(tg) {
		if _, err := e.AWS.ELB.ModifyTargetGroup(ctx, &elbv2.ModifyTargetGroupInput{
			TargetGroupArn: aws.String(arn), HealthCheckProtocol: elbtypes.ProtocolEnumHttp, HealthCheckPath: aws.String(s.svc.HealthPath),
			HealthCheckIntervalSeconds: aws.Int32(healthInterval), HealthCheckTimeoutSeconds: aws.Int32(healthTimeout),
			HealthyThresholdCount: aws.Int32(healthyThreshold), UnhealthyThresholdCount: aws.Int32(unhealthyThreshold),
		}); err != nil {
			return fmt.Errorf("correcting the health check of target group %s: %w", name, err)
		}
		e.Updated("target group "+name, arn, "health check")
		changed = true
	}
	// A new group has ELB's default delay (300 s): set it without reading, since a describe right
	// after the create may not find the group yet (ELB is eventually consistent).
	delay := ""
	if !fresh {
		attrs, err := e.AWS.ELB.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(arn)})
		if err != nil {
			return fmt.Errorf("reading attributes of target group %s: %w", name, err)
		}
		delay = deregistrationDelayOf(attrs.Attributes)
	}
	if delay != deregistrationDelay {
		if _, err := e.AWS.ELB.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{
			TargetGroupArn: aws.String(arn),
			Attributes:     []elbtypes.TargetGroupAttribute{{Key: aws.String(deregistrationDelayKey), Value: aws.String(deregistrationDelay)}},
		}); err != nil {
			return fmt.Errorf("setting the deregistration delay of target group %s: %w", name, err)
		}
		if !fresh {
			e.Updated("target group "+name, arn, "deregistration delay "+deregistrationDelay+"s")
		}
		changed = true
	}
	if !fresh && !changed {
		e.Unchanged("target group "+name, arn)
	}
	return nil
}

func (s targetGroupStep) Down(ctx context.Context, e *Env) error {
	tg, err := s.find(ctx, e)
	return removeFound(e, s.key(), "target group "+s.groupName(e), tg, err, targetGroupARN, func(arn string) error {
		return deleteWhenFree(ctx, e, "target group", arn, func(ctx context.Context) error {
			_, err := e.AWS.ELB.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(arn)})
			return err
		})
	})
}

func (s targetGroupStep) Inspect(ctx context.Context, e *Env) []Status {
	tg, err := s.find(ctx, e)
	return []Status{{Resource: "target group " + s.groupName(e), StateID: e.StateID(s.key()),
		AWS: engine.Observe(err, tg != nil, func() string { return "health check " + aws.ToString(tg.HealthCheckPath) })}}
}
