package provision

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// alarmsStep owns the two alarms that roll a deployment back: the service's target 5XX count
// and its unhealthy hosts. Each watches both of the service's target groups, since blue/green
// deployments alternate between them.
type alarmsStep struct{ svc catalog.Service }

func (s alarmsStep) Name() string { return serviceKey(s.svc.Name, kindAlarms) }
func (s alarmsStep) DependsOn() []string {
	return []string{keyALB, serviceKey(s.svc.Name, kindTargetGroup), serviceKey(s.svc.Name, kindAltTargetGroup)}
}
func (s alarmsStep) key() string { return s.Name() }

// Thresholds: five 5XX answers in a minute, or an unhealthy target for two minutes.
const (
	alarm5xxThreshold       = 5
	alarmUnhealthyThreshold = 1
	alarmPeriod             = 60
)

// AlarmNames are the rollback alarms of a service.
func AlarmNames(e *Env, svc string) []string {
	return []string{e.Names.Alarm5xx(svc), e.Names.AlarmUnhealthy(svc)}
}

// arnSuffix is an ELB ARN from its resource type on: "targetgroup/<name>/<id>", the TargetGroup
// dimension of CloudWatch's ELB metrics.
func arnSuffix(arn, marker string) string {
	if i := strings.Index(arn, ":"+marker+"/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// loadBalancerDimension is the LoadBalancer dimension of CloudWatch's ALB metrics,
// "app/<name>/<id>": the ARN's suffix without "loadbalancer/", or no metric matches.
func loadBalancerDimension(arn string) string {
	return strings.TrimPrefix(arnSuffix(arn, "loadbalancer"), "loadbalancer/")
}

func (s alarmsStep) desired(e *Env) ([]*cloudwatch.PutMetricAlarmInput, error) {
	alb, err := e.Require(keyALB)
	if err != nil {
		return nil, err
	}
	var groups []string
	for _, key := range []string{serviceKey(s.svc.Name, kindTargetGroup), serviceKey(s.svc.Name, kindAltTargetGroup)} {
		tg, err := e.Require(key)
		if err != nil {
			return nil, err
		}
		groups = append(groups, arnSuffix(tg.ID, "targetgroup"))
	}
	lb := loadBalancerDimension(alb.ID)
	queries := func(metric, stat, expression, label string) []cwtypes.MetricDataQuery {
		var q []cwtypes.MetricDataQuery
		for i, tg := range groups {
			q = append(q, cwtypes.MetricDataQuery{
				Id: aws.String(fmt.Sprintf("m%d", i+1)), ReturnData: aws.Bool(false),
				MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String(metric), Dimensions: []cwtypes.Dimension{
						{Name: aws.String("LoadBalancer"), Value: aws.String(lb)}, {Name: aws.String("TargetGroup"), Value: aws.String(tg)},
					}},
					Period: aws.Int32(alarmPeriod), Stat: aws.String(stat),
				},
			})
		}
		return append(q, cwtypes.MetricDataQuery{Id: aws.String("e1"), Expression: aws.String(expression), Label: aws.String(label), ReturnData: aws.Bool(true)})
	}
	names := AlarmNames(e, s.svc.Name)
	tags := tagList(e, names[0], s.svc.Name, func(k, v string) cwtypes.Tag { return cwtypes.Tag{Key: aws.String(k), Value: aws.String(v)} })
	alarm := func(name, what string, metrics []cwtypes.MetricDataQuery, threshold float64, periods int32) *cloudwatch.PutMetricAlarmInput {
		return &cloudwatch.PutMetricAlarmInput{
			AlarmName:          aws.String(name),
			AlarmDescription:   aws.String(what + " of " + s.svc.Name + " in " + e.Name + ": rolls a deployment back"),
			Metrics:            metrics,
			ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold,
			Threshold:          aws.Float64(threshold), EvaluationPeriods: aws.Int32(periods), DatapointsToAlarm: aws.Int32(periods),
			TreatMissingData: aws.String("notBreaching"), Tags: tags,
		}
	}
	return []*cloudwatch.PutMetricAlarmInput{
		alarm(names[0], "Target 5XX answers", queries("HTTPCode_Target_5XX_Count", "Sum", "FILL(m1,0)+FILL(m2,0)", "5XX"), alarm5xxThreshold, 1),
		alarm(names[1], "Unhealthy targets", queries("UnHealthyHostCount", "Maximum", "MAX([m1,m2])", "unhealthy hosts"), alarmUnhealthyThreshold, 2),
	}, nil
}

// alarmsToPut are the wanted alarms that are missing or differ from what CloudWatch holds (have,
// by name), in the order wanted.
func alarmsToPut(have map[string]cwtypes.MetricAlarm, want []*cloudwatch.PutMetricAlarmInput) []*cloudwatch.PutMetricAlarmInput {
	var out []*cloudwatch.PutMetricAlarmInput
	for _, w := range want {
		if existing, exists := have[aws.ToString(w.AlarmName)]; !exists || !sameAlarm(existing, w) {
			out = append(out, w)
		}
	}
	return out
}

// sameAlarm compares the settings tapctl sets.
func sameAlarm(have cwtypes.MetricAlarm, want *cloudwatch.PutMetricAlarmInput) bool {
	if have.ComparisonOperator != want.ComparisonOperator || aws.ToFloat64(have.Threshold) != aws.ToFloat64(want.Threshold) ||
		aws.ToInt32(have.EvaluationPeriods) != aws.ToInt32(want.EvaluationPeriods) ||
		aws.ToString(have.TreatMissingData) != aws.ToString(want.TreatMissingData) || len(have.Metrics) != len(want.Metrics) {
		return false
	}
	for i, w := range want.Metrics {
		h := have.Metrics[i]
		if aws.ToString(h.Id) != aws.ToString(w.Id) || aws.ToString(h.Expression) != aws.ToString(w.Expression) {
			return false
		}
		if w.MetricStat != nil {
			if h.MetricStat == nil || h.MetricStat.Metric == nil || aws.ToString(h.MetricStat.Metric.MetricName) != aws.ToString(w.MetricStat.Metric.MetricName) ||
				aws.ToString(h.MetricStat.Stat) != aws.ToString(w.MetricStat.Stat) || len(h.MetricStat.Metric.Dimensions) != len(w.MetricStat.Metric.Dimensions) {
				return false
			}
			for j, d := range w.MetricStat.Metric.Dimensions {
				if aws.ToString(h.MetricStat.Metric.Dimensions[j].Value) != aws.ToString(d.Value) {
					return false
				}
			}
		}
	}
	return true
}

// alarms reads the alarms of every service in one call (names that do not exist are left out)
// and each one's tags, once per run.
func alarms(ctx context.Context, e *Env) (map[string]tagged[cwtypes.MetricAlarm], error) {
	return engine.Discover(e.Run, "alarms", func() (map[string]tagged[cwtypes.MetricAlarm], error) {
		var names []string
		for _, svc := range e.Catalog {
			names = append(names, AlarmNames(e, svc.Name)...)
		}
		var all []cwtypes.MetricAlarm
		for _, batch := range chunks(names, 100) {
			out, err := e.AWS.CloudWatch.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: batch})
			if err != nil {
				return nil, fmt.Errorf("describing alarms %v: %w", batch, err)
			}
			all = append(all, out.MetricAlarms...)
		}
		return withTags(ctx, e, all,
			func(a cwtypes.MetricAlarm) string { return aws.ToString(a.AlarmName) },
			func(a cwtypes.MetricAlarm) string { return aws.ToString(a.AlarmArn) },
			func(a cwtypes.MetricAlarm) (map[string]string, error) {
				out, err := e.AWS.CloudWatch.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: a.AlarmArn})
				if err != nil {
					return nil, fmt.Errorf("reading the tags of alarm %s: %w", aws.ToString(a.AlarmName), err)
				}
				return TagMap(out.Tags, func(t cwtypes.Tag) (*string, *string) { return t.Key, t.Value }), nil
			})
	})
}

// find returns the service's alarms that exist, each proven the environment's.
func (s alarmsStep) find(ctx context.Context, e *Env) (map[string]cwtypes.MetricAlarm, error) {
	all, err := alarms(ctx, e)
	if err != nil {
		return nil, err
	}
	mine := map[string]cwtypes.MetricAlarm{}
	for _, name := range AlarmNames(e, s.svc.Name) {
		a, err := findByName(e, "alarm", name, all, func(a *cwtypes.MetricAlarm) string { return aws.ToString(a.AlarmArn) })
		if err != nil {
			return nil, err
		}
		if a != nil {
			mine[name] = *a
		}
	}
	return mine, nil
}

func (s alarmsStep) Claim(ctx context.Context, e *Env) error {
	_, err := s.find(ctx, e)
	return err
}

func (s alarmsStep) Up(ctx context.Context, e *Env) error {
	want, err := s.desired(e)
	if err != nil {
		return err
	}
	have, err := s.find(ctx, e)
	if err != nil {
		return err
	}
	changed := false
	for _, w := range alarmsToPut(have, want) {
		name := aws.ToString(w.AlarmName)
		// PutMetricAlarm creates or replaces by name.
		if _, err := e.AWS.CloudWatch.PutMetricAlarm(ctx, w); err != nil {
			return fmt.Errorf("putting alarm %s: %w", name, err)
		}
		if _, exists := have[name]; exists {
			e.Updated("alarm "+name, name, "settings")
		} else {
			e.Created("alarm "+name, name)
		}
		changed = true
	}
	if err := e.Record(s.key(), state.Resource{ID: strings.Join(AlarmNames(e, s.svc.Name), ",")}); err != nil {
		return err
	}
	if !changed {
		e.Unchanged("alarms of "+s.svc.Name, s.svc.Name)
	}
	return nil
}

func (s alarmsStep) Down(ctx context.Context, e *Env) error {
	have, err := s.find(ctx, e)
	if err != nil {
		return err
	}
	if len(have) > 0 {
		// Only the alarms proven the environment's: a foreign one of the same name stays.
		names := slices.Sorted(maps.Keys(have))
		if _, err := e.AWS.CloudWatch.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: names}); err != nil && !cloud.IsNotFound(err) {
			return fmt.Errorf("deleting alarms of %s: %w", s.svc.Name, err)
		}
		for _, name := range names {
			e.Deleted("alarm "+name, name)
		}
	}
	return e.Forget(s.key())
}

func (s alarmsStep) Inspect(ctx context.Context, e *Env) []Status {
	have, err := s.find(ctx, e)
	var out []Status
	for _, name := range AlarmNames(e, s.svc.Name) {
		a, found := have[name]
		out = append(out, Status{Resource: "alarm " + name, StateID: e.StateID(s.key()),
			AWS: engine.Observe(err, found, func() string { return string(a.StateValue) })})
	}
	return out
}
