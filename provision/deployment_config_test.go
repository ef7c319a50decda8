package provision

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestDeploymentConfigurationMatches(t *testing.T) {
	blueGreen := deploymentSpec{strategy: BlueGreen, bakeMinutes: 5, alarms: []string{"a-5xx", "a-unhealthy"}}
	rolling := deploymentSpec{strategy: Rolling, alarms: []string{"a-5xx", "a-unhealthy"}}
	edit := func(d deploymentSpec, change func(c *ecstypes.DeploymentConfiguration)) *ecstypes.DeploymentConfiguration {
		c := d.configuration()
		change(c)
		return c
	}
	cases := []struct {
		name string
		spec deploymentSpec
		got  *ecstypes.DeploymentConfiguration
		want bool
	}{
		{"blue/green as configured", blueGreen, blueGreen.configuration(), true},
		{"rolling as configured", rolling, rolling.configuration(), true},
		{"rolling reported without a strategy (ECS's default)", rolling, edit(rolling, func(c *ecstypes.DeploymentConfiguration) { c.Strategy = "" }), true},
		{"blue/green wanted, rolling found", blueGreen, rolling.configuration(), false},
		{"another bake time", blueGreen, edit(blueGreen, func(c *ecstypes.DeploymentConfiguration) { c.BakeTimeInMinutes = aws.Int32(15) }), false},
		{"alarms in another order", blueGreen, edit(blueGreen, func(c *ecstypes.DeploymentConfiguration) {
			c.Alarms.AlarmNames = []string{"a-unhealthy", "a-5xx"}
		}), true},
		{"an alarm missing", blueGreen, edit(blueGreen, func(c *ecstypes.DeploymentConfiguration) { c.Alarms.AlarmNames = c.Alarms.AlarmNames[:1] }), false},
		{"alarms off", rolling, edit(rolling, func(c *ecstypes.DeploymentConfiguration) { c.Alarms.Enable = false }), false},
		{"circuit breaker without rollback", rolling, edit(rolling, func(c *ecstypes.DeploymentConfiguration) {
			c.DeploymentCircuitBreaker = &ecstypes.DeploymentCircuitBreaker{Enable: true}
		}), false},
		{"minimum healthy 100 %", rolling, edit(rolling, func(c *ecstypes.DeploymentConfiguration) { c.MinimumHealthyPercent = aws.Int32(100) }), false},
		{"none reported", rolling, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.spec.matches(c.got); got != c.want {
				t.Errorf("matches = %v, want %v", got, c.want)
			}
		})
	}
}

// After each blue/green deployment ECS has swapped the two target groups: either way round is
// the spec, anything else is drift.
func TestTargetGroupsMatch(t *testing.T) {
	d := deploymentSpec{strategy: BlueGreen, alternateTargetGroup: "tg-green", productionRule: "rule-1", roleARN: "role"}
	lb := func(tg, alt, rule string) ecstypes.LoadBalancer {
		return ecstypes.LoadBalancer{TargetGroupArn: aws.String(tg), AdvancedConfiguration: &ecstypes.AdvancedConfiguration{
			AlternateTargetGroupArn: aws.String(alt), ProductionListenerRule: aws.String(rule), RoleArn: aws.String("role"),
		}}
	}
	rolling := deploymentSpec{strategy: Rolling}
	cases := []struct {
		name string
		spec deploymentSpec
		lb   ecstypes.LoadBalancer
		want bool
	}{
		{"blue serves", d, lb("tg-blue", "tg-green", "rule-1"), true},
		{"green serves after a deployment", d, lb("tg-green", "tg-blue", "rule-1"), true},
		{"another group", d, lb("tg-other", "tg-green", "rule-1"), false},
		{"another production rule", d, lb("tg-blue", "tg-green", "rule-2"), false},
		{"no advanced configuration", d, ecstypes.LoadBalancer{TargetGroupArn: aws.String("tg-blue")}, false},
		{"rolling: the service's group", rolling, ecstypes.LoadBalancer{TargetGroupArn: aws.String("tg-blue")}, true},
		{"rolling: green left serving", rolling, ecstypes.LoadBalancer{TargetGroupArn: aws.String("tg-green")}, false},
		{"rolling: blue/green settings left over", rolling, lb("tg-blue", "tg-green", "rule-1"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.spec.targetGroupsMatch(c.lb, "tg-blue"); got != c.want {
				t.Errorf("targetGroupsMatch = %v, want %v", got, c.want)
			}
		})
	}
}
