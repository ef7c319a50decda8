package scenarios

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/naming"
	"github.com/tapctl/tapctl/provision"
	"github.com/tapctl/tapctl/state"
)

// serviceResources reads what AWS holds of one service: ECS service status ("" when none),
// target group health-check path, rule priority and path, repository, log group.
type serviceResources struct {
	ECSStatus, HealthPath, RulePriority, RulePath string
	Repository, LogGroup                          bool
	Env                                           map[string]string
}

func readService(t *testing.T, dir, env, svc string) serviceResources {
	t.Helper()
	ctx, c, n := context.Background(), clients(t), naming.Names{Env: env}
	var r serviceResources
	out, err := c.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(n.Cluster()), Services: []string{n.Service(svc)}})
	must(t, err)
	for _, s := range out.Services {
		if aws.ToString(s.Status) != "INACTIVE" {
			r.ECSStatus = aws.ToString(s.Status)
			td, err := c.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: s.TaskDefinition})
			must(t, err)
			r.Env = map[string]string{}
			for _, kv := range td.TaskDefinition.ContainerDefinitions[0].Environment {
				r.Env[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
			}
		}
	}
	tgs, err := c.ELB.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{n.TargetGroup(svc)}})
	if err == nil && len(tgs.TargetGroups) == 1 {
		r.HealthPath = aws.ToString(tgs.TargetGroups[0].HealthCheckPath)
		tg := aws.ToString(tgs.TargetGroups[0].TargetGroupArn)
		rules, err := c.ELB.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: aws.String(stateResource(t, dir, env, "listener").ID)})
		must(t, err)
		for _, rule := range rules.Rules {
			for _, a := range rule.Actions {
				forwards := aws.ToString(a.TargetGroupArn) == tg
				if a.ForwardConfig != nil {
					for _, g := range a.ForwardConfig.TargetGroups {
						forwards = forwards || aws.ToString(g.TargetGroupArn) == tg
					}
				}
				if forwards {
					r.RulePriority = aws.ToString(rule.Priority)
					r.RulePath = strings.Join(rule.Conditions[0].PathPatternConfig.Values, ",")
				}
			}
		}
	}
	_, err = c.ECR.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{n.Repository(svc)}})
	r.Repository = err == nil
	groups, err := c.Logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(n.LogGroup(svc))})
	must(t, err)
	r.LogGroup = len(groups.LogGroups) == 1
	return r
}

// planSteps runs plan with a catalog file and returns its exit code and "action step" lines.
func planSteps(t *testing.T, dir, env, config string) (int, []string) {
	t.Helper()
	r, p := plan(t, dir, env, "--config", config)
	var lines []string
	for _, ch := range p.Changes {
		lines = append(lines, ch.Action+" "+ch.Step)
	}
	return r.Code, lines
}

// A fourth service added to the catalog file is planned, then created; replaced by another
// service on the same rule priority, its resources are planned as deletes, then deleted before
// the new service takes the priority; the three others stay as they were.
func TestCatalogFileAddsAndRemovesAService(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)

	search := catalog.WithDefaults("search", 13)
	search.HealthPath, search.CPU, search.Memory, search.MaxCount = "/healthz", 512, 1024, 4
	search.Environment = map[string]string{"LOG_LEVEL": "debug"}
	config := writeCatalog(t, t.TempDir(), search)

	code, changes := planSteps(t, dir, env, config)
	if code != 2 {
		t.Fatalf("plan with a new service exited %d", code)
	}
	for _, want := range []string{"create search/ecs-service", "create search/target-group", "create search/listener-rule",
		"create search/ecr-repository", "create search/log-group", "create search/task-definition", "update dashboard"} {
		if !slices.Contains(changes, want) {
			t.Errorf("plan lacks %q: %v", want, changes)
		}
	}
	for _, ch := range changes {
		if !strings.HasPrefix(ch, "create search/") && ch != "update dashboard" {
			t.Errorf("plan for a new service also has %q", ch)
		}
	}

	tapctl(t, dir, "up", "--env", env, "--no-wait", "--config", config).mustSucceed(t)
	got := readService(t, dir, env, "search")
	want := serviceResources{ECSStatus: "ACTIVE", HealthPath: "/healthz", RulePriority: "13", RulePath: "/search/*", Repository: true, LogGroup: true,
		Env: map[string]string{"SERVICE_NAME": "search", "ENVIRONMENT": env, "PORT": "80", "LOG_LEVEL": "debug"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the new service in AWS:\n got  %+v\n want %+v", got, want)
	}
	// A field changed in the file: a new task definition revision, and the service moved to it.
	search.Memory = 2048
	config = writeCatalog(t, t.TempDir(), search)
	code, changes = planSteps(t, dir, env, config)
	if want := []string{"update search/task-definition", "update search/ecs-service"}; code != 2 || !slices.Equal(changes, want) {
		t.Errorf("plan after a memory change exited %d: %v, want %v", code, changes, want)
	}
	tapctl(t, dir, "up", "--env", env, "--no-wait", "--config", config).mustSucceed(t)

	before := map[string]serviceResources{}
	for _, svc := range catalog.Default() {
		before[svc.Name] = readService(t, dir, env, svc.Name)
	}
	if code, changes := planSteps(t, dir, env, config); code != 0 {
		t.Fatalf("plan after up exited %d: %v", code, changes)
	}

	// search leaves the catalog; reviews arrives on its rule priority.
	reviews := catalog.WithDefaults("reviews", 13)
	config = writeCatalog(t, t.TempDir(), reviews)
	code, changes = planSteps(t, dir, env, config)
	if code != 2 {
		t.Fatalf("plan with a removed service exited %d", code)
	}
	for _, want := range []string{"delete search/ecs-service", "delete search/target-group", "delete search/alt-target-group",
		"delete search/listener-rule", "delete search/ecr-repository", "delete search/log-group", "delete search/task-definition",
		"delete search/execution-role", "delete search/scaling", "create reviews/listener-rule"} {
		if !slices.Contains(changes, want) {
			t.Errorf("plan lacks %q: %v", want, changes)
		}
	}
	for _, ch := range changes {
		if !strings.HasPrefix(ch, "delete search/") && !strings.HasPrefix(ch, "create reviews/") && ch != "update dashboard" {
			t.Errorf("plan also has %q", ch)
		}
	}

	tapctl(t, dir, "up", "--env", env, "--no-wait", "--config", config).mustSucceed(t)
	if got := readService(t, dir, env, "search"); !reflect.DeepEqual(got, serviceResources{}) {
		t.Errorf("the removed service is still in AWS: %+v", got)
	}
	if got := readService(t, dir, env, "reviews"); got.ECSStatus != "ACTIVE" || got.RulePriority != "13" {
		t.Errorf("the new service on the freed priority: %+v", got)
	}
	for _, svc := range catalog.Default() {
		if got := readService(t, dir, env, svc.Name); !reflect.DeepEqual(got, before[svc.Name]) {
			t.Errorf("%s changed:\n got  %+v\n want %+v", svc.Name, got, before[svc.Name])
		}
	}
	st, err := state.Open(dir, env)
	must(t, err)
	if got := st.Setting(provision.SettingServices); got != "payment,order,notification,reviews" {
		t.Errorf("state remembers services %q", got)
	}
	if keys := st.KeysWithPrefix("search/"); len(keys) != 0 {
		t.Errorf("state still holds %v", keys)
	}
	if code, changes := planSteps(t, dir, env, config); code != 0 {
		t.Fatalf("plan after the removal exited %d: %v", code, changes)
	}
}

// down deletes a service that left the catalog before any up removed it.
func TestDownRemovesAServiceThatLeftTheCatalog(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	config := writeCatalog(t, t.TempDir(), catalog.WithDefaults("search", 13))
	tapctl(t, dir, "up", "--env", env, "--no-wait", "--config", config).mustSucceed(t)
	if got := readService(t, dir, env, "search"); got.ECSStatus != "ACTIVE" {
		t.Fatalf("search was not created: %+v", got)
	}
	// No --config and no ./tapctl.yaml: the built-in three services.
	tapctl(t, dir, "down", "--env", env, "--yes").mustSucceed(t)
	if got := readService(t, dir, env, "search"); got.ECSStatus != "" || got.Repository || got.LogGroup {
		t.Errorf("down left the removed service: %+v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, env+".json")); err == nil {
		t.Error("down left the state file")
	}
}

// Without the state file, services in the cluster that the catalog does not list are still
// found (by their ECS service), planned as deletes and removed by up.
func TestLostStateStillFindsARemovedService(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	config := writeCatalog(t, t.TempDir(), catalog.WithDefaults("search", 13))
	tapctl(t, dir, "up", "--env", env, "--no-wait", "--config", config).mustSucceed(t)
	must(t, os.Remove(filepath.Join(dir, env+".json")))
	config = writeCatalog(t, t.TempDir())
	code, changes := planSteps(t, dir, env, config)
	for _, want := range []string{"delete search/ecs-service", "delete search/listener-rule", "delete search/target-group", "delete search/ecr-repository"} {
		if code != 2 || !slices.Contains(changes, want) {
			t.Errorf("plan without a state file exited %d, lacks %q: %v", code, want, changes)
		}
	}
	tapctl(t, dir, "up", "--env", env, "--no-wait", "--config", config).mustSucceed(t)
	if got := readService(t, dir, env, "search"); !reflect.DeepEqual(got, serviceResources{}) {
		t.Errorf("up without a state file left the removed service: %+v", got)
	}
	rules, err := clients(t).ELB.DescribeRules(context.Background(), &elbv2.DescribeRulesInput{ListenerArn: aws.String(stateResource(t, dir, env, "listener").ID)})
	must(t, err)
	for _, r := range rules.Rules {
		if aws.ToString(r.Priority) == "13" {
			t.Errorf("the removed service's rule is left: %s", aws.ToString(r.RuleArn))
		}
	}
}
