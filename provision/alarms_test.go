package provision

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/state"
)

// asDescribed is an alarm as DescribeAlarms answers after PutMetricAlarm(in).
func asDescribed(in *cloudwatch.PutMetricAlarmInput) cwtypes.MetricAlarm {
	metrics := make([]cwtypes.MetricDataQuery, len(in.Metrics))
	for i, q := range in.Metrics {
		metrics[i] = q
		if q.MetricStat != nil {
			stat, metric := *q.MetricStat, *q.MetricStat.Metric
			metric.Dimensions = slices.Clone(metric.Dimensions)
			stat.Metric = &metric
			metrics[i].MetricStat = &stat
		}
	}
	return cwtypes.MetricAlarm{
		AlarmName: in.AlarmName, AlarmArn: aws.String("arn:aws:cloudwatch:us-east-1:123456789012:alarm:" + aws.ToString(in.AlarmName)),
		ComparisonOperator: in.ComparisonOperator, Threshold: in.Threshold, EvaluationPeriods: in.EvaluationPeriods,
		DatapointsToAlarm: in.DatapointsToAlarm, TreatMissingData: in.TreatMissingData, Metrics: metrics,
		StateValue: cwtypes.StateValueOk,
	}
}

func TestAlarmsToPut(t *testing.T) {
	e := testEnv(t, map[string]state.Resource{
		keyALB:                                 {ID: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/microservices-alb-pr1/50dc6c495c0c9188"},
		serviceKey("payment", kindTargetGroup): {ID: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/payment-tg-pr1/73e2d6bc24d8a067"},
		serviceKey("payment", kindAltTargetGroup): {ID: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/payment-tg2-pr1/83e2d6bc24d8a067"},
	})
	want, err := alarmsStep{catalog.WithDefaults("payment", 10)}.desired(e)
	if err != nil {
		t.Fatal(err)
	}
	fiveXX, unhealthy := aws.ToString(want[0].AlarmName), aws.ToString(want[1].AlarmName)
	if got := aws.ToString(want[0].Metrics[0].MetricStat.Metric.Dimensions[0].Value); got != "app/microservices-alb-pr1/50dc6c495c0c9188" {
		t.Errorf("LoadBalancer dimension = %q, want app/<name>/<id> (the dashboard's)", got)
	}
	cases := []struct {
		name  string
		drift func(have map[string]cwtypes.MetricAlarm)
		want  []string
	}{
		{"both as the spec wants", func(map[string]cwtypes.MetricAlarm) {}, nil},
		{"one missing", func(h map[string]cwtypes.MetricAlarm) { delete(h, unhealthy) }, []string{unhealthy}},
		{"none", func(h map[string]cwtypes.MetricAlarm) { clear(h) }, []string{fiveXX, unhealthy}},
		{"threshold raised by hand", func(h map[string]cwtypes.MetricAlarm) {
			a := h[fiveXX]
			a.Threshold = aws.Float64(50)
			h[fiveXX] = a
		}, []string{fiveXX}},
		{"evaluation periods changed", func(h map[string]cwtypes.MetricAlarm) {
			a := h[unhealthy]
			a.EvaluationPeriods = aws.Int32(5)
			h[unhealthy] = a
		}, []string{unhealthy}},
		{"comparison changed", func(h map[string]cwtypes.MetricAlarm) {
			a := h[fiveXX]
			a.ComparisonOperator = cwtypes.ComparisonOperatorGreaterThanThreshold
			h[fiveXX] = a
		}, []string{fiveXX}},
		{"missing data breaches", func(h map[string]cwtypes.MetricAlarm) {
			a := h[fiveXX]
			a.TreatMissingData = aws.String("breaching")
			h[fiveXX] = a
		}, []string{fiveXX}},
		{"watches only one target group", func(h map[string]cwtypes.MetricAlarm) {
			a := h[unhealthy]
			a.Metrics = append(a.Metrics[:1], a.Metrics[2])
			h[unhealthy] = a
		}, []string{unhealthy}},
		{"watches another target group", func(h map[string]cwtypes.MetricAlarm) {
			h[fiveXX].Metrics[1].MetricStat.Metric.Dimensions[1].Value = aws.String("targetgroup/other/1")
		}, []string{fiveXX}},
		{"another expression", func(h map[string]cwtypes.MetricAlarm) {
			h[fiveXX].Metrics[2].Expression = aws.String("m1")
		}, []string{fiveXX}},
		{"another statistic", func(h map[string]cwtypes.MetricAlarm) {
			h[unhealthy].Metrics[0].MetricStat.Stat = aws.String("Average")
		}, []string{unhealthy}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			have := map[string]cwtypes.MetricAlarm{fiveXX: asDescribed(want[0]), unhealthy: asDescribed(want[1])}
			c.drift(have)
			var got []string
			for _, in := range alarmsToPut(have, want) {
				got = append(got, aws.ToString(in.AlarmName))
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("alarms to put = %v, want %v", got, c.want)
			}
		})
	}
}
