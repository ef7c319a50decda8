package scenarios

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/naming"
)

// upCounts reads up's own summary: the "up finished" log line's created, updated, deleted.
func upCounts(t *testing.T, r result) [3]int {
	t.Helper()
	for _, l := range logLines(t, r.Stderr) {
		if l["message"] == "up finished" {
			n := func(k string) int { v, _ := l[k].(float64); return int(v) }
			return [3]int{n("created"), n("updated"), n("deleted")}
		}
	}
	t.Fatalf("up printed no summary:\n%s", r.Stderr)
	return [3]int{}
}

func planCounts(t *testing.T, p planJSON) [3]int {
	t.Helper()
	for _, ch := range p.Changes {
		if ch.Step == "serving" || ch.Step == "retire/appmesh" && ch.Action == "update" {
			t.Errorf("plan lists the internal step %s as %s", ch.Step, ch.Action)
		}
	}
	return [3]int{*p.Summary.Add, *p.Summary.Change, *p.Summary.Destroy}
}

// What plan counts is what the up after it then reports (created, updated, deleted): for a
// fresh environment, for drift in four resources (one of them the least-privilege drift of
// policies attached by hand, one a desired count outside the scaling range), and for a
// service taken out of the catalog.
func TestPlanCountsWhatUpThenReports(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	ctx, c, n := context.Background(), clients(t), naming.Names{Env: env}

	_, p := plan(t, dir, env)
	want := planCounts(t, p)
	if got := upCounts(t, tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)); got != want {
		t.Errorf("fresh: plan %v (add, change, destroy), up reported %v (created, updated, deleted)", want, got)
	}

	// Drift in four resources.
	_, err := c.Logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(n.LogGroup("order")), RetentionInDays: aws.Int32(30)})
	must(t, err)
	_, err = c.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(n.TaskRole("payment")), PolicyName: aws.String("by-hand"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)})
	must(t, err)
	_, err = c.IAM.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(n.ExecutionRole("order")), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")})
	must(t, err)
	_, err = c.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(n.Cluster()), Service: aws.String(n.Service("notification")), DesiredCount: aws.Int32(50)})
	must(t, err)

	_, p = plan(t, dir, env)
	var changed []string
	for _, ch := range p.Changes {
		changed = append(changed, ch.Action+" "+ch.Step)
	}
	sort.Strings(changed)
	wantSteps := []string{"update notification/ecs-service", "update order/execution-role", "update order/log-group", "update payment/task-role"}
	if !equal(changed, wantSteps) {
		t.Errorf("plan after drift = %v, want %v", changed, wantSteps)
	}
	want = planCounts(t, p)
	if got := upCounts(t, tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)); got != want {
		t.Errorf("drift: plan %v, up reported %v", want, got)
	}
	assertRole(t, n.TaskRole("payment"), nil, map[string][]string{
		"s3:GetObject s3:PutObject": {"arn:aws:s3:::payment-bucket-" + env + "/*"},
		"s3:ListBucket":             {"arn:aws:s3:::payment-bucket-" + env},
		"dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem dynamodb:Query dynamodb:Scan": {"arn:aws:dynamodb:us-east-1:123456789012:table/payment-table-" + env},
		ecsExecStatement: {"*"},
	})
	attached, err := c.IAM.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(n.ExecutionRole("order"))})
	must(t, err)
	if len(attached.AttachedPolicies) != 1 || aws.ToString(attached.AttachedPolicies[0].PolicyArn) != "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy" {
		t.Errorf("order's execution role still has %+v", attached.AttachedPolicies)
	}
	svc, err := c.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(n.Cluster()), Services: []string{n.Service("notification")}})
	must(t, err)
	if got := svc.Services[0].DesiredCount; got != 10 {
		t.Errorf("notification's desired count is %d, want 10 (its maxCount)", got)
	}
	if _, p = plan(t, dir, env); len(p.Changes) != 0 {
		t.Errorf("plan after the repairing up: %+v", p.Changes)
	}

	// A service taken out of the catalog.
	config := filepath.Join(t.TempDir(), "tapctl.yaml")
	must(t, os.WriteFile(config, catalog.Template(catalog.Default()[:2]), 0o644))
	_, p = plan(t, dir, env, "--config", config)
	want = planCounts(t, p)
	if want[2] == 0 {
		t.Fatalf("plan without notification deletes nothing: %+v", p.Changes)
	}
	if got := upCounts(t, tapctl(t, dir, "up", "--env", env, "--no-wait", "--config", config).mustSucceed(t)); got != want {
		var lines []string
		for _, ch := range p.Changes {
			lines = append(lines, ch.Action+" "+ch.Resource)
		}
		t.Errorf("removal: plan %v, up reported %v; plan:\n%s", want, got, strings.Join(lines, "\n"))
	}
}
