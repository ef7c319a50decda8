package localstack

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tapctl/tapctl/naming"
)

// Drift made by hand is corrected by the next up, with exactly the calls it needs.
func TestDriftIsCorrected(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
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

// The generated password never reaches the terminal, the logs (even at debug level) or the state.
func TestPasswordIsNeverPrintedLoggedOrStored(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
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
	for i, text := range outputs {
		if strings.Contains(text, creds.Password) {
			t.Errorf("output %d holds the password", i)
		}
	}
	tapctl(t, dir, "down", "--env", env).mustSucceed(t)
}

// In blue/green, ECS moves the production rule's traffic between the two target groups with
// weights; that is ECS's to own, so up leaves it alone.
func TestUpDoesNotFightECSOverTheProductionRule(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
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
