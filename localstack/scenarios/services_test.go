package scenarios

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/smithy-go/middleware"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/naming"
)

// The ECS services, their Cloud Map registrations, auto scaling and the dashboard, as AWS
// holds them after up (SPEC rows 21-23), then a second up that changes nothing.
func TestServicesInventory(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	ctx, c, n := context.Background(), clients(t), naming.Names{Env: env}
	tapctl(t, dir, "up", "--env", env).mustSucceed(t)

	privateSubnets := map[string]bool{}
	for _, sn := range readNetwork(t, env).Subnets {
		if !aws.ToBool(sn.MapPublicIpOnLaunch) {
			privateSubnets[aws.ToString(sn.SubnetId)] = true
		}
	}
	nsID := stateResource(t, dir, env, "namespace").ID
	services := describeServices(t, env)
	if len(services) != 3 {
		t.Fatalf("want 3 ECS services, got %d", len(services))
	}
	for _, svc := range services {
		name := aws.ToString(svc.ServiceName)
		short := strings.TrimSuffix(name, "-service-"+env)
		if aws.ToString(svc.Status) != "ACTIVE" || svc.DesiredCount != 2 || svc.RunningCount != 2 {
			t.Errorf("%s: status %s, desired %d, running %d", name, aws.ToString(svc.Status), svc.DesiredCount, svc.RunningCount)
		}
		if !strings.HasSuffix(aws.ToString(svc.TaskDefinition), ":task-definition/"+n.TaskFamily(short)+":1") {
			t.Errorf("%s runs %s", name, aws.ToString(svc.TaskDefinition))
		}
		// Echoed by moto once tapctl corrected what CreateService dropped.
		if len(svc.CapacityProviderStrategy) != 1 || aws.ToString(svc.CapacityProviderStrategy[0].CapacityProvider) != "FARGATE_SPOT" ||
			svc.CapacityProviderStrategy[0].Base != 2 || svc.CapacityProviderStrategy[0].Weight != 1 {
			t.Errorf("%s capacity provider strategy = %+v", name, svc.CapacityProviderStrategy)
		}
		// Blue/green by default; moto stores what UpdateService sets after the create.
		dc := svc.DeploymentConfiguration
		if dc == nil || dc.Strategy != ecstypes.DeploymentStrategyBlueGreen || aws.ToInt32(dc.BakeTimeInMinutes) != 5 ||
			dc.Alarms == nil || !dc.Alarms.Enable || !dc.Alarms.Rollback || len(dc.Alarms.AlarmNames) != 2 ||
			aws.ToInt32(dc.MinimumHealthyPercent) != 0 || aws.ToInt32(dc.MaximumPercent) != 200 {
			t.Errorf("%s deployment configuration = %+v", name, dc)
		}
		if !svc.EnableExecuteCommand {
			t.Errorf("%s: execute command off", name)
		}
		vpcConf := svc.NetworkConfiguration.AwsvpcConfiguration
		if vpcConf.AssignPublicIp != ecstypes.AssignPublicIpDisabled || len(vpcConf.Subnets) != 3 || len(vpcConf.SecurityGroups) != 1 {
			t.Errorf("%s network = %+v", name, vpcConf)
		}
		for _, s := range vpcConf.Subnets {
			if !privateSubnets[s] {
				t.Errorf("%s runs in non-private subnet %s", name, s)
			}
		}
		if vpcConf.SecurityGroups[0] != stateResource(t, dir, env, "task-security-group").ID {
			t.Errorf("%s security groups = %v", name, vpcConf.SecurityGroups)
		}
		if adv := svc.LoadBalancers[0].AdvancedConfiguration; adv == nil ||
			aws.ToString(adv.AlternateTargetGroupArn) != stateResource(t, dir, env, short+"/alt-target-group").ID ||
			aws.ToString(adv.ProductionListenerRule) != stateResource(t, dir, env, short+"/listener-rule").ID ||
			aws.ToString(adv.RoleArn) != stateResource(t, dir, env, short+"/infrastructure-role").ARN {
			t.Errorf("%s advanced configuration = %+v", name, adv)
		}
		if len(svc.LoadBalancers) != 1 || aws.ToString(svc.LoadBalancers[0].TargetGroupArn) != stateResource(t, dir, env, short+"/target-group").ID ||
			aws.ToString(svc.LoadBalancers[0].ContainerName) != short+"-container" || aws.ToInt32(svc.LoadBalancers[0].ContainerPort) != 80 {
			t.Errorf("%s load balancers = %+v", name, svc.LoadBalancers)
		}
		// Service Connect with blue/green: no DNS registration (README, "Service mesh"); the
		// Cloud Map DNS service is there for the modes that register in it.
		if len(svc.ServiceRegistries) != 0 {
			t.Errorf("%s is registered in Cloud Map DNS with Service Connect and blue/green: %+v", name, svc.ServiceRegistries)
		}
		reg, err := c.ServiceDisc.GetService(ctx, &sd.GetServiceInput{Id: aws.String(stateResource(t, dir, env, short+"/discovery-service").ID)})
		must(t, err)
		if aws.ToString(reg.Service.Name) != short || aws.ToString(reg.Service.NamespaceId) != nsID || aws.ToInt64(reg.Service.DnsConfig.DnsRecords[0].TTL) != 60 {
			t.Errorf("%s Cloud Map service: name %s, namespace %s (want %s), ttl %d", name,
				aws.ToString(reg.Service.Name), aws.ToString(reg.Service.NamespaceId), nsID, aws.ToInt64(reg.Service.DnsConfig.DnsRecords[0].TTL))
		}
		if tags := ecsTags(svc.Tags); tags["Environment"] != env || tags["ManagedBy"] != "tapctl" || tags["Service"] != short || tags["Name"] != name {
			t.Errorf("%s tags = %v", name, tags)
		}

		resourceID := "service/" + n.Cluster() + "/" + name
		targets, err := c.AutoScaling.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceIds: []string{resourceID}})
		must(t, err)
		if len(targets.ScalableTargets) != 1 || aws.ToInt32(targets.ScalableTargets[0].MinCapacity) != 2 || aws.ToInt32(targets.ScalableTargets[0].MaxCapacity) != 10 ||
			targets.ScalableTargets[0].ScalableDimension != aastypes.ScalableDimensionECSServiceDesiredCount {
			t.Errorf("%s scalable targets = %+v", name, targets.ScalableTargets)
		}
		policies, err := c.AutoScaling.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(resourceID)})
		must(t, err)
		if len(policies.ScalingPolicies) != 1 {
			t.Fatalf("%s has %d scaling policies", name, len(policies.ScalingPolicies))
		}
		tt := policies.ScalingPolicies[0].TargetTrackingScalingPolicyConfiguration
		if tt == nil || aws.ToFloat64(tt.TargetValue) != 70 || tt.PredefinedMetricSpecification.PredefinedMetricType != aastypes.MetricTypeECSServiceAverageCPUUtilization ||
			aws.ToInt32(tt.ScaleInCooldown) != 60 || aws.ToInt32(tt.ScaleOutCooldown) != 60 {
			t.Errorf("%s scaling policy = %+v", name, tt)
		}
	}

	for _, svc := range catalog.Default() {
		alarms, err := c.CloudWatch.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{svc.Name + "-5xx-" + env, svc.Name + "-unhealthy-" + env}})
		must(t, err)
		if len(alarms.MetricAlarms) != 2 {
			t.Fatalf("%s has %d alarms, want 2", svc.Name, len(alarms.MetricAlarms))
		}
		for _, a := range alarms.MetricAlarms {
			metrics := map[string]bool{}
			for _, m := range a.Metrics {
				if m.MetricStat != nil {
					metrics[aws.ToString(m.MetricStat.Metric.MetricName)] = true
				}
			}
			want := "HTTPCode_Target_5XX_Count"
			if strings.Contains(aws.ToString(a.AlarmName), "unhealthy") {
				want = "UnHealthyHostCount"
			}
			if !metrics[want] || len(a.Metrics) != 3 || a.ComparisonOperator != "GreaterThanOrEqualToThreshold" {
				t.Errorf("alarm %s watches %v (%d queries), operator %s", aws.ToString(a.AlarmName), metrics, len(a.Metrics), a.ComparisonOperator)
			}
		}
	}

	dash, err := c.CloudWatch.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: aws.String(n.Dashboard())})
	must(t, err)
	var body struct {
		Widgets []struct {
			Properties struct{ Metrics [][]string }
		}
	}
	must(t, json.Unmarshal([]byte(aws.ToString(dash.DashboardBody)), &body))
	seen := map[string]bool{}
	for _, w := range body.Widgets {
		for _, m := range w.Properties.Metrics {
			key := m[1]
			if len(m) > 5 && m[4] == "ServiceName" {
				key += " " + m[5]
			}
			seen[key] = true
		}
	}
	for _, want := range []string{"CPUUtilization", "MemoryUtilization", "RequestCount", "TargetResponseTime", "HTTPCode_Target_4XX_Count", "HTTPCode_Target_5XX_Count",
		"CPUUtilization " + n.Service("payment"), "MemoryUtilization " + n.Service("notification")} {
		if !seen[want] {
			t.Errorf("dashboard lacks %s (has %v)", want, seen)
		}
	}

	second := tapctl(t, dir, "up", "--env", env).mustSucceed(t)
	if m := second.Calls.Mutating(); len(m) != 0 {
		t.Errorf("second up made mutating calls: %v", m)
	}
}

// moto drops these CreateService fields (EMULATOR.md), so what tapctl sent is asserted instead.
func TestCreateServiceRequestShape(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	created := newCapture("ECS", "CreateService")
	tapctlWith(t, dir, []func(*middleware.Stack) error{created.middleware}, "up", "--env", env).mustSucceed(t)
	bodies := created.jsonBodies(t)
	if len(bodies) != 3 {
		t.Fatalf("captured %d CreateService calls, want 3", len(bodies))
	}
	for _, b := range bodies {
		name := b["serviceName"]
		strategy, _ := json.Marshal(b["capacityProviderStrategy"])
		if string(strategy) != `[{"base":2,"capacityProvider":"FARGATE_SPOT","weight":1}]` {
			t.Errorf("%s capacityProviderStrategy = %s", name, strategy)
		}
		if _, hasLaunchType := b["launchType"]; hasLaunchType {
			t.Errorf("%s sets launchType beside a capacity provider strategy", name)
		}
		short := strings.TrimSuffix(name.(string), "-service-"+env)
		deploy, _ := json.Marshal(b["deploymentConfiguration"])
		if string(deploy) != `{"alarms":{"alarmNames":["`+short+`-5xx-`+env+`","`+short+`-unhealthy-`+env+`"],"enable":true,"rollback":true},"bakeTimeInMinutes":5,"deploymentCircuitBreaker":{"enable":true,"rollback":true},"maximumPercent":200,"minimumHealthyPercent":0,"strategy":"BLUE_GREEN"}` {
			t.Errorf("%s deploymentConfiguration = %s", name, deploy)
		}
		lbs, _ := json.Marshal(b["loadBalancers"])
		for _, want := range []string{`"alternateTargetGroupArn":"` + stateResource(t, dir, env, short+"/alt-target-group").ID,
			`"productionListenerRule":"` + stateResource(t, dir, env, short+"/listener-rule").ID,
			`"roleArn":"` + stateResource(t, dir, env, short+"/infrastructure-role").ARN} {
			if !strings.Contains(string(lbs), want) {
				t.Errorf("%s loadBalancers %s lacks %s", name, lbs, want)
			}
		}
		if b["enableExecuteCommand"] != true || b["healthCheckGracePeriodSeconds"] != float64(60) || b["desiredCount"] != float64(2) {
			t.Errorf("%s: enableExecuteCommand %v, grace %v, desired %v", name, b["enableExecuteCommand"], b["healthCheckGracePeriodSeconds"], b["desiredCount"])
		}
		if tok, _ := b["clientToken"].(string); len(tok) == 0 || len(tok) > 36 {
			t.Errorf("%s clientToken = %q", name, tok)
		}
		if b["propagateTags"] != "SERVICE" {
			t.Errorf("%s propagateTags = %v", name, b["propagateTags"])
		}
	}
}

// Auto scaling owns the desired count; a changed scaling target is drift.
func TestScalingDriftIsCorrectedButDesiredCountIsLeftToAutoScaling(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	ctx, c, n := context.Background(), clients(t), naming.Names{Env: env}
	tapctl(t, dir, "up", "--env", env).mustSucceed(t)

	_, err := c.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(n.Cluster()), Service: aws.String(n.Service("order")), DesiredCount: aws.Int32(5)})
	must(t, err)
	resourceID := "service/" + n.Cluster() + "/" + n.Service("payment")
	_, err = c.AutoScaling.PutScalingPolicy(ctx, &aas.PutScalingPolicyInput{
		PolicyName: aws.String(n.ScalingPolicy("payment")), PolicyType: aastypes.PolicyTypeTargetTrackingScaling,
		ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(resourceID), ScalableDimension: aastypes.ScalableDimensionECSServiceDesiredCount,
		TargetTrackingScalingPolicyConfiguration: &aastypes.TargetTrackingScalingPolicyConfiguration{
			TargetValue: aws.Float64(50), PredefinedMetricSpecification: &aastypes.PredefinedMetricSpecification{PredefinedMetricType: aastypes.MetricTypeECSServiceAverageCPUUtilization},
			ScaleInCooldown: aws.Int32(60), ScaleOutCooldown: aws.Int32(60),
		},
	})
	must(t, err)

	fix := tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)
	if got := fix.Calls.Mutating(); !equal(got, []string{"Application Auto Scaling.PutScalingPolicy"}) {
		t.Errorf("repair calls = %v, want only the scaling policy", got)
	}
	policies, err := c.AutoScaling.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(resourceID)})
	must(t, err)
	if got := aws.ToFloat64(policies.ScalingPolicies[0].TargetTrackingScalingPolicyConfiguration.TargetValue); got != 70 {
		t.Errorf("scaling target after up = %v, want 70", got)
	}
	for _, svc := range describeServices(t, env) {
		if aws.ToString(svc.ServiceName) == n.Service("order") && svc.DesiredCount != 5 {
			t.Errorf("up reset the desired count that auto scaling owns: %d", svc.DesiredCount)
		}
	}
}

func TestOutputs(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	up := tapctl(t, dir, "up", "--env", env).mustSucceed(t)
	for _, want := range []string{"VpcId", "ClusterName", "LoadBalancerDns", "EcrRepoPayment", "EcrRepoOrder", "EcrRepoNotification"} {
		if !strings.Contains(up.Stdout, want) {
			t.Errorf("up did not print output %s:\n%s", want, up.Stdout)
		}
	}
	r := tapctl(t, dir, "outputs", "--env", env, "--json").mustSucceed(t)
	var out map[string]string
	must(t, json.Unmarshal([]byte(r.Stdout), &out))
	n := naming.Names{Env: env}
	if out["ClusterName"] != n.Cluster() || !strings.HasPrefix(out["VpcId"], "vpc-") || out["LoadBalancerDns"] == "" ||
		!strings.HasSuffix(out["EcrRepoPayment"], "/"+n.Repository("payment")) {
		t.Errorf("outputs = %v", out)
	}
	if _, hasMesh := out["MeshName"]; hasMesh {
		t.Errorf("MeshName printed without App Mesh: %v", out)
	}
	if m, rd := r.Calls.Totals(); m+rd != 0 {
		t.Errorf("outputs made %d calls", m+rd)
	}
}

// --deploy-strategy rolling: the circuit breaker with rollback replaces blue/green, and an
// existing environment switches with one UpdateService per service.
func TestRollingStrategyRequestShapeAndSwitch(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	created := newCapture("ECS", "CreateService")
	tapctlWith(t, dir, []func(*middleware.Stack) error{created.middleware}, "up", "--env", env, "--deploy-strategy", "rolling", "--no-wait").mustSucceed(t)
	for _, b := range created.jsonBodies(t) {
		deploy, _ := json.Marshal(b["deploymentConfiguration"])
		if !strings.Contains(string(deploy), `"deploymentCircuitBreaker":{"enable":true,"rollback":true}`) || !strings.Contains(string(deploy), `"strategy":"ROLLING"`) {
			t.Errorf("%v deploymentConfiguration = %s", b["serviceName"], deploy)
		}
		if lbs, _ := json.Marshal(b["loadBalancers"]); strings.Contains(string(lbs), "advancedConfiguration") {
			t.Errorf("rolling service has an advanced configuration: %s", lbs)
		}
	}
	if m := tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t).Calls.Mutating(); len(m) != 0 {
		t.Errorf("second up (rolling remembered) made %v", m)
	}
	toBlueGreen := tapctl(t, dir, "up", "--env", env, "--deploy-strategy", "blue-green", "--bake-time", "10m", "--no-wait").mustSucceed(t)
	// Each production rule gains the alternate group (weight 0) and each service its blue/green settings.
	wantSwitch := []string{"ECS.UpdateService", "ECS.UpdateService", "ECS.UpdateService",
		"Elastic Load Balancing v2.ModifyRule", "Elastic Load Balancing v2.ModifyRule", "Elastic Load Balancing v2.ModifyRule"}
	if got := toBlueGreen.Calls.Mutating(); !equal(got, wantSwitch) {
		t.Errorf("switch calls = %v", got)
	}
	for _, svc := range describeServices(t, env) {
		if dc := svc.DeploymentConfiguration; dc.Strategy != ecstypes.DeploymentStrategyBlueGreen || aws.ToInt32(dc.BakeTimeInMinutes) != 10 {
			t.Errorf("%s after switch: %+v", aws.ToString(svc.ServiceName), dc)
		}
	}
	assertRefused(t, tapctl(t, dir, "up", "--env", env, "--deploy-strategy", "canary"), "invalid --deploy-strategy")
}
