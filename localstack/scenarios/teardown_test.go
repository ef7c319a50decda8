package scenarios

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	"github.com/aws/smithy-go/middleware"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/naming"
)

// leftovers lists everything of the environment that AWS still holds, in every service tapctl
// uses, found by tags and names; a KMS key pending deletion is not a leftover (it cannot be
// deleted sooner). Cloud Map services, listeners and rules go with their namespace and load
// balancer; the crash tests also check every ID tapctl created (journal_test.go).
func leftovers(t *testing.T, env string) []string {
	t.Helper()
	ctx, c, n := context.Background(), clients(t), naming.Names{Env: env}
	var left []string
	gone := func(what string, err error) {
		if err == nil {
			left = append(left, what)
		} else if !cloud.IsNotFound(err) && !cloud.HasCode(err, "ClientException") {
			t.Fatalf("checking %s: %v", what, err)
		}
	}
	if net := readNetwork(t, env); net.count() != 0 {
		left = append(left, "network resources")
	}
	sgs, err := c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("tag:Environment"), Values: []string{env}}}})
	must(t, err)
	for _, g := range sgs.SecurityGroups {
		left = append(left, "security group "+aws.ToString(g.GroupName))
	}
	_, err = c.ELB.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{n.ALB()}})
	gone("load balancer", err)
	_, err = c.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(n.Secret())})
	gone("secret", err)
	_, err = c.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(n.KeyAlias())})
	gone("key alias", err)
	keys, err := c.KMS.ListKeys(ctx, &kms.ListKeysInput{})
	must(t, err)
	for _, k := range keys.Keys {
		tags, err := c.KMS.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: k.KeyId})
		must(t, err)
		for _, tag := range tags.Tags {
			if aws.ToString(tag.TagKey) == "Environment" && aws.ToString(tag.TagValue) == env {
				d, err := c.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})
				must(t, err)
				if d.KeyMetadata.KeyState != kmstypes.KeyStatePendingDeletion {
					left = append(left, "KMS key "+aws.ToString(k.KeyId)+" "+string(d.KeyMetadata.KeyState))
				}
			}
		}
	}
	cl, err := c.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{n.Cluster()}})
	must(t, err)
	for _, cluster := range cl.Clusters {
		if aws.ToString(cluster.Status) != "INACTIVE" {
			left = append(left, "cluster")
		}
	}
	var serviceNames []string
	for _, svc := range catalog.Default() {
		serviceNames = append(serviceNames, n.Service(svc.Name))
	}
	ecsServices, err := c.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(n.Cluster()), Services: serviceNames})
	if err != nil && !cloud.IsNotFound(err) {
		t.Fatalf("describing ECS services: %v", err)
	}
	if err == nil {
		for _, s := range ecsServices.Services {
			if aws.ToString(s.Status) != "INACTIVE" {
				left = append(left, "ECS service "+aws.ToString(s.ServiceName))
			}
		}
	}
	nss, err := c.ServiceDisc.ListNamespaces(ctx, &sd.ListNamespacesInput{})
	must(t, err)
	for _, ns := range nss.Namespaces {
		if aws.ToString(ns.Name) == n.Namespace() {
			left = append(left, "namespace "+aws.ToString(ns.Id))
		}
	}
	_, err = c.CloudWatch.GetDashboard(ctx, &cloudwatch.GetDashboardInput{DashboardName: aws.String(n.Dashboard())})
	gone("dashboard", err)
	for _, svc := range catalog.Default() {
		s := svc.Name
		_, err = c.ECR.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{n.Repository(s)}})
		gone("repository "+s, err)
		for _, role := range []string{n.ExecutionRole(s), n.TaskRole(s), n.InfrastructureRole(s)} {
			_, err = c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
			gone("role "+role, err)
		}
		lgs, err := c.Logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(n.LogGroup(s))})
		must(t, err)
		for _, lg := range lgs.LogGroups {
			if aws.ToString(lg.LogGroupName) == n.LogGroup(s) {
				left = append(left, "log group "+n.LogGroup(s))
			}
		}
		for _, tg := range []string{n.TargetGroup(s), n.AltTargetGroup(s)} {
			_, err = c.ELB.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{tg}})
			gone("target group "+tg, err)
		}
		alarms, err := c.CloudWatch.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String(s + "-")})
		must(t, err)
		for _, a := range alarms.MetricAlarms {
			if strings.HasSuffix(aws.ToString(a.AlarmName), "-"+env) {
				left = append(left, "alarm "+aws.ToString(a.AlarmName))
			}
		}
		tds, err := c.ECS.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(n.TaskFamily(s))})
		must(t, err)
		for _, arn := range tds.TaskDefinitionArns {
			if strings.Contains(arn, "/"+n.TaskFamily(s)+":") {
				left = append(left, "task definition "+arn)
			}
		}
		targets, err := c.AutoScaling.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
			ResourceIds: []string{"service/" + n.Cluster() + "/" + n.Service(s)}})
		must(t, err)
		if len(targets.ScalableTargets) != 0 {
			left = append(left, "scalable target "+s)
		}
		policies, err := c.AutoScaling.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: aastypes.ServiceNamespaceEcs,
			ResourceId: aws.String("service/" + n.Cluster() + "/" + n.Service(s))})
		must(t, err)
		if len(policies.ScalingPolicies) != 0 {
			left = append(left, "scaling policy "+s)
		}
	}
	return left
}

func TestDownRemovesThePlatformAndUpReusesThePendingKey(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	tapctl(t, dir, "up", "--env", env).mustSucceed(t)
	keyID := stateResource(t, dir, env, "log-key").ID

	tapctl(t, dir, "down", "--yes", "--env", env).mustSucceed(t)
	if left := leftovers(t, env); len(left) != 0 {
		t.Fatalf("down left: %v", left)
	}
	if _, err := os.Stat(filepath.Join(dir, env+".json")); !os.IsNotExist(err) {
		t.Errorf("state file remains after down")
	}
	key, err := clients(t).KMS.DescribeKey(context.Background(), &kms.DescribeKeyInput{KeyId: aws.String(keyID)})
	must(t, err)
	if key.KeyMetadata.KeyState != kmstypes.KeyStatePendingDeletion {
		t.Errorf("key after down is %s, want PendingDeletion", key.KeyMetadata.KeyState)
	}

	tapctl(t, dir, "up", "--env", env).mustSucceed(t)
	if again := stateResource(t, dir, env, "log-key").ID; again != keyID {
		t.Errorf("up after down made key %s instead of reusing %s", again, keyID)
	}
	assertNetwork(t, env)
	assertPlatform(t, dir, env)
	tapctl(t, dir, "down", "--yes", "--env", env).mustSucceed(t)
	if left := leftovers(t, env); len(left) != 0 {
		t.Fatalf("second down left: %v", left)
	}
}

// A secret scheduled for deletion by hand (with a recovery window) keeps its name: up restores it.
func TestUpRestoresASecretScheduledForDeletion(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)
	n := naming.Names{Env: env}
	_, err := clients(t).Secrets.DeleteSecret(context.Background(), &secretsmanager.DeleteSecretInput{SecretId: aws.String(n.Secret()), RecoveryWindowInDays: aws.Int64(7)})
	must(t, err)
	r := tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)
	if got := r.Calls.Mutating(); !equal(got, []string{"Secrets Manager.RestoreSecret"}) {
		t.Errorf("calls = %v, want one RestoreSecret", got)
	}
	d, err := clients(t).Secrets.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(n.Secret())})
	must(t, err)
	if d.DeletedDate != nil {
		t.Error("secret still scheduled for deletion")
	}
}

// down deletes in the order real AWS needs: the NAT gateway is deleted, and seen deleted,
// before its Elastic IP is released; subnets, security groups and the VPC are retried while AWS
// answers DependencyViolation (network interfaces of deleted owners linger for minutes).
func TestDownWaitsForTheNATAndRetriesDependencyViolations(t *testing.T) {
	p := startProxy(t)
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--no-wait").mustSucceed(t)
	for _, op := range []string{"DeleteSubnet", "DeleteSecurityGroup", "DeleteVpc"} {
		p.FailEC2(op, "DependencyViolation", 1)
	}
	order := &callOrder{}
	tapctlAt(t, p.URL, dir, []func(*middleware.Stack) error{order.middleware}, "down", "--yes", "--env", env).mustSucceed(t)
	for _, op := range []string{"DeleteSubnet", "DeleteSecurityGroup", "DeleteVpc"} {
		if p.Injected(op) != 1 {
			t.Errorf("%s was not given its DependencyViolation", op)
		}
	}
	calls := order.list()
	index := func(call string, after int) int {
		for i := after + 1; i < len(calls); i++ {
			if calls[i] == call {
				return i
			}
		}
		return -1
	}
	deleteNAT := index("EC2.DeleteNatGateway", -1)
	waited := index("EC2.DescribeNatGateways", deleteNAT)
	release := index("EC2.ReleaseAddress", -1)
	if deleteNAT < 0 || waited < 0 || release < waited {
		t.Errorf("want DeleteNatGateway, then DescribeNatGateways (the waiter), then ReleaseAddress; got %v", calls)
	}
	if left := leftovers(t, env); len(left) != 0 {
		t.Errorf("down left %v", left)
	}
}
