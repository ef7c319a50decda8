package scenarios

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tapctl/tapctl/localstack"
	"github.com/tapctl/tapctl/naming"
)

// Drift made by hand is corrected by the next up, with exactly the calls it needs.
func TestDriftIsCorrected(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	ctx, c, n := context.Background(), clients(t), naming.Names{Env: env}
	tapctl(t, dir, "up", "--env", env).mustSucceed(t)

	_, err := c.Logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(n.LogGroup("order")), RetentionInDays: aws.Int32(30)})
	must(t, err)
	_, err = c.ELB.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: aws.String(stateResource(t, dir, env, "payment/listener-rule").ID)})
	must(t, err)
	_, err = c.ELB.ModifyTargetGroup(ctx, &elbv2.ModifyTargetGroupInput{TargetGroupArn: aws.String(stateResource(t, dir, env, "notification/target-group").ID), HealthCheckPath: aws.String("/health")})
	must(t, err)

	fix := tapctl(t, dir, "up", "--env", env).mustSucceed(t)
	// The recreated rule has a new ARN, so the payment service's blue/green configuration is
	// pointed at it: the one UpdateService.
	want := []string{"CloudWatch Logs.PutRetentionPolicy", "ECS.UpdateService", "Elastic Load Balancing v2.CreateRule", "Elastic Load Balancing v2.ModifyTargetGroup"}
	if got := fix.Calls.Mutating(); !equal(got, want) {
		t.Errorf("repair calls = %v, want %v", got, want)
	}
	assertPlatform(t, dir, env)
	again := tapctl(t, dir, "up", "--env", env).mustSucceed(t)
	if m := again.Calls.Mutating(); len(m) != 0 {
		t.Errorf("up after the repair made %v", m)
	}
}

// The generated password never reaches the terminal, the logs (JSON, even at debug level) or the
// state file, in up, a second up, status, outputs and down.
func TestPasswordIsNeverPrintedLoggedOrStored(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	var outputs []string
	for _, args := range [][]string{{"-v", "up", "--env", env}, {"-v", "up", "--env", env}, {"-v", "status", "--env", env}, {"outputs", "--env", env, "--json"}} {
		r := tapctl(t, dir, args...).mustSucceed(t)
		outputs = append(outputs, r.Stdout, r.Stderr)
	}
	val, err := clients(t).Secrets.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(naming.Names{Env: env}.Secret())})
	must(t, err)
	var creds struct{ Password string }
	must(t, json.Unmarshal([]byte(aws.ToString(val.SecretString)), &creds))
	if len(creds.Password) < 32 {
		t.Fatalf("unexpected password length %d", len(creds.Password))
	}
	stateFile, err := os.ReadFile(filepath.Join(dir, env+".json"))
	must(t, err)
	outputs = append(outputs, string(stateFile))
	down := tapctl(t, dir, "-v", "down", "--yes", "--env", env).mustSucceed(t)
	outputs = append(outputs, down.Stdout, down.Stderr)
	if !strings.Contains(down.Stderr, `"level":"debug"`) {
		t.Error("no debug-level JSON log line was checked")
	}
	for i, text := range outputs {
		if strings.Contains(text, creds.Password) {
			t.Errorf("output %d holds the password", i)
		}
	}
}

// In blue/green, ECS moves the production rule's traffic between the two target groups with
// weights; that is ECS's to own, so up leaves it alone.
func TestUpDoesNotFightECSOverTheProductionRule(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)
	blue, green := stateResource(t, dir, env, "payment/target-group").ID, stateResource(t, dir, env, "payment/alt-target-group").ID
	_, err := clients(t).ELB.ModifyRule(context.Background(), &elbv2.ModifyRuleInput{
		RuleArn: aws.String(stateResource(t, dir, env, "payment/listener-rule").ID),
		Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{
			{TargetGroupArn: aws.String(blue), Weight: aws.Int32(0)}, {TargetGroupArn: aws.String(green), Weight: aws.Int32(100)},
		}}}},
	})
	must(t, err)
	if m := tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t).Calls.Mutating(); len(m) != 0 {
		t.Errorf("up changed what ECS owns: %v", m)
	}
}

// Repository and cluster settings changed by hand are corrected with exactly the calls needed;
// a lifecycle policy with the same meaning in another layout is not drift.
func TestRepositoryAndClusterDriftIsCorrected(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	ctx, c, n := context.Background(), clients(t), naming.Names{Env: env}
	tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)
	scanOnPushOff(t, n.Repository("payment"))
	_, err := c.ECR.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String(n.Repository("order")),
		LifecyclePolicyText: aws.String(`{"rules":[{"rulePriority":1,"description":"Keep only the last 50 images","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":50},"action":{"type":"expire"}}]}`)})
	must(t, err)
	_, err = c.ECR.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String(n.Repository("notification")),
		LifecyclePolicyText: aws.String(`{ "rules": [ { "action": {"type": "expire"}, "selection": {"countNumber": 10, "countType": "imageCountMoreThan", "tagStatus": "any"},
		  "description": "Keep only the last 10 images", "rulePriority": 1 } ] }`)})
	must(t, err)
	_, err = c.ECS.UpdateCluster(ctx, &ecs.UpdateClusterInput{Cluster: aws.String(n.Cluster()),
		Settings: []ecstypes.ClusterSetting{{Name: ecstypes.ClusterSettingNameContainerInsights, Value: aws.String("disabled")}}})
	must(t, err)
	_, err = c.ECS.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{Cluster: aws.String(n.Cluster()),
		CapacityProviders: []string{"FARGATE"}, DefaultCapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{}})
	must(t, err)

	fix := tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)
	want := []string{"ECR.PutImageScanningConfiguration", "ECR.PutLifecyclePolicy", "ECS.PutClusterCapacityProviders", "ECS.UpdateCluster"}
	if got := fix.Calls.Mutating(); !equal(got, want) {
		t.Errorf("repair calls = %v, want %v", got, want)
	}
	assertPlatform(t, dir, env)
}

// scanOnPushOff turns scan on push off by hand. The SDK leaves scanOnPush=false out of the
// request (the zero value) and moto ignores an empty configuration, so the JSON is sent as the
// AWS CLI sends it.
func scanOnPushOff(t *testing.T, repo string) {
	t.Helper()
	body := `{"repositoryName":"` + repo + `","imageScanningConfiguration":{"scanOnPush":false}}`
	req, err := http.NewRequest(http.MethodPost, localstack.Endpoint(t)+"/", strings.NewReader(body))
	must(t, err)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.PutImageScanningConfiguration")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PutImageScanningConfiguration: HTTP %d", resp.StatusCode)
	}
	out, err := clients(t).ECR.DescribeRepositories(context.Background(), &ecr.DescribeRepositoriesInput{RepositoryNames: []string{repo}})
	must(t, err)
	if out.Repositories[0].ImageScanningConfiguration.ScanOnPush {
		t.Fatal("scan on push is still on")
	}
}
