package scenarios

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tapctl/tapctl/naming"
	"github.com/tapctl/tapctl/state"
)

// plan on a fresh environment lists only creates (exit 2); after up nothing (exit 0, read
// calls only); after drift made behind tapctl's back, the update with its field (exit 2).
func TestPlanFreshConvergedAndDrifted(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	ctx, c := context.Background(), clients(t)

	r, p := plan(t, dir, env)
	if r.Code != 2 {
		t.Fatalf("plan of a fresh environment exited %d, want 2", r.Code)
	}
	if *p.Summary.Change != 0 || *p.Summary.Destroy != 0 || *p.Summary.Add != len(p.Changes) || len(p.Changes) < 40 {
		t.Fatalf("fresh plan: %d changes, summary %+v; want only creates", len(p.Changes), p.Summary)
	}
	for _, ch := range p.Changes {
		if ch.Action != "create" {
			t.Errorf("fresh plan has %s %s", ch.Action, ch.Resource)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, env+".json")); err == nil {
		t.Fatal("plan wrote a state file")
	}
	table := tapctl(t, dir, "plan", "--env", env)
	if table.Code != 2 || !strings.Contains(table.Stdout, "+ create") || !strings.Contains(table.Stdout, "Plan: ") {
		t.Fatalf("table plan exited %d:\n%s", table.Code, table.Stdout)
	}

	tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)
	// plan takes no lock: it runs while an up holds the environment.
	lock, err := state.Acquire(dir, env)
	must(t, err)
	r, p = plan(t, dir, env)
	must(t, lock.Release())
	if r.Code != 0 || len(p.Changes) != 0 {
		t.Fatalf("plan after up exited %d with %+v", r.Code, p.Changes)
	}
	if table := tapctl(t, dir, "plan", "--env", env); table.Code != 0 || !strings.Contains(table.Stdout, "No changes.") {
		t.Fatalf("table plan after up exited %d:\n%s", table.Code, table.Stdout)
	}

	// The database password never shows, even in debug logs of a plan that would replace it.
	_, err = c.Secrets.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(naming.Names{Env: env}.Secret()), ForceDeleteWithoutRecovery: aws.Bool(true)})
	must(t, err)
	secretPlan := tapctl(t, dir, "-v", "plan", "--env", env, "--output", "json")
	var sp planJSON
	must(t, json.Unmarshal([]byte(secretPlan.Stdout), &sp))
	var planned []string
	for _, ch := range sp.Changes {
		planned = append(planned, ch.Action+" "+ch.Step)
	}
	// Up recreates the secret, then points the execution roles' policies and the task
	// definitions at its new ARN, and the ECS services at the new revisions.
	for _, want := range []string{"create secret", "update payment/execution-role", "update payment/task-definition", "update payment/ecs-service"} {
		if !slices.Contains(planned, want) {
			t.Errorf("plan after the secret was deleted lacks %q: %v", want, planned)
		}
	}
	if secretPlan.Code != 2 {
		t.Fatalf("plan after the secret was deleted exited %d:\n%s", secretPlan.Code, secretPlan.Stdout)
	}
	for _, leak := range []string{"SecretString", "GetRandomPassword"} {
		if strings.Contains(secretPlan.Stdout, leak) {
			t.Errorf("plan output mentions %s:\n%s", leak, secretPlan.Stdout)
		}
	}
	tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)

	// Drift: DNS hostnames off on the VPC, another health-check path on a target group.
	vpc := stateResource(t, dir, env, "vpc").ID
	_, err = c.EC2.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: aws.String(vpc), EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(false)}})
	must(t, err)
	_, err = c.ELB.ModifyTargetGroup(ctx, &elbv2.ModifyTargetGroupInput{TargetGroupArn: aws.String(stateResource(t, dir, env, "order/target-group").ID), HealthCheckPath: aws.String("/drifted")})
	must(t, err)
	if dt := tapctl(t, dir, "plan", "--env", env); !strings.Contains(dt.Stdout, "~ update") || !strings.Contains(dt.Stdout, `HealthCheckPath = "/"`) {
		t.Errorf("table plan after drift:\n%s", dt.Stdout)
	}
	r, p = plan(t, dir, env)
	if r.Code != 2 || *p.Summary.Change != 2 || *p.Summary.Add != 0 || *p.Summary.Destroy != 0 {
		t.Fatalf("plan after drift exited %d: %s", r.Code, r.Stdout)
	}
	got := map[string]map[string]any{}
	for _, ch := range p.Changes {
		got[ch.Step] = ch.Fields
	}
	if f := got["vpc"]; f == nil || !strings.Contains(jsonOf(f), `"EnableDnsHostnames":{"Value":true}`) {
		t.Errorf("vpc change fields = %v", f)
	}
	if f := got["order/target-group"]; f == nil || f["HealthCheckPath"] != "/" {
		t.Errorf("order/target-group change fields = %v", f)
	}
	tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)
	if r, _ := plan(t, dir, env); r.Code != 0 {
		t.Fatalf("plan after the repair exited %d: %s", r.Code, r.Stdout)
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
