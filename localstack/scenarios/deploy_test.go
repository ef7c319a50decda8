package scenarios

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/tapctl/tapctl/naming"
)

func serviceTaskDefinition(t *testing.T, env, svc string) *ecstypes.TaskDefinition {
	t.Helper()
	n := naming.Names{Env: env}
	for _, s := range describeServices(t, env) {
		if aws.ToString(s.ServiceName) == n.Service(svc) {
			out, err := clients(t).ECS.DescribeTaskDefinition(context.Background(), &ecs.DescribeTaskDefinitionInput{TaskDefinition: s.TaskDefinition})
			must(t, err)
			return out.TaskDefinition
		}
	}
	t.Fatalf("no service %s", svc)
	return nil
}

// comparable drops what differs between any two revisions, and the image.
func comparable(t *testing.T, td *ecstypes.TaskDefinition) string {
	t.Helper()
	c := *td
	c.TaskDefinitionArn, c.Revision, c.RegisteredAt, c.RegisteredBy = nil, 0, nil, nil
	c.ContainerDefinitions = append([]ecstypes.ContainerDefinition(nil), td.ContainerDefinitions...)
	c.ContainerDefinitions[0].Image = nil
	raw, err := json.Marshal(c)
	must(t, err)
	return string(raw)
}

func TestDeployAndRollback(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	tapctl(t, dir, "up", "--env", env).mustSucceed(t)
	before := serviceTaskDefinition(t, env, "payment")

	tapctl(t, dir, "deploy", "--env", env, "--service", "payment", "--image", "nginx:1.27").mustSucceed(t)
	after := serviceTaskDefinition(t, env, "payment")
	if after.Revision != before.Revision+1 || aws.ToString(after.ContainerDefinitions[0].Image) != "nginx:1.27" {
		t.Fatalf("service runs revision %d with %s, want %d with nginx:1.27", after.Revision, aws.ToString(after.ContainerDefinitions[0].Image), before.Revision+1)
	}
	if comparable(t, before) != comparable(t, after) {
		t.Errorf("the new revision differs in more than the image:\n%s\n%s", comparable(t, before), comparable(t, after))
	}
	if other := serviceTaskDefinition(t, env, "order"); other.Revision != 1 {
		t.Errorf("deploying payment changed order to revision %d", other.Revision)
	}
	// up keeps the deployed image instead of the catalog's.
	if m := tapctl(t, dir, "up", "--env", env).mustSucceed(t).Calls.Mutating(); len(m) != 0 {
		t.Errorf("up after deploy made %v", m)
	}

	tapctl(t, dir, "rollback", "--env", env, "--service", "payment").mustSucceed(t)
	back := serviceTaskDefinition(t, env, "payment")
	if aws.ToString(back.TaskDefinitionArn) != aws.ToString(before.TaskDefinitionArn) {
		t.Errorf("after rollback the service runs %s, want %s", aws.ToString(back.TaskDefinitionArn), aws.ToString(before.TaskDefinitionArn))
	}
	if m := tapctl(t, dir, "up", "--env", env).mustSucceed(t).Calls.Mutating(); len(m) != 0 {
		t.Errorf("up after rollback made %v", m)
	}
	status := tapctl(t, dir, "status", "--env", env).mustSucceed(t).Stdout
	if !strings.Contains(status, "amazon/amazon-ecs-sample") || !strings.Contains(status, n(env).TaskFamily("payment")+":1") {
		t.Errorf("status does not show the active revision and image:\n%s", status)
	}
}

func n(env string) naming.Names { return naming.Names{Env: env} }

func TestDeployAllSharesOneImage(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)
	tapctl(t, dir, "deploy", "--env", env, "--all", "--image", "registry.example.com/shop:v2", "--no-wait").mustSucceed(t)
	for _, svc := range []string{"payment", "order", "notification"} {
		if img := aws.ToString(serviceTaskDefinition(t, env, svc).ContainerDefinitions[0].Image); img != "registry.example.com/shop:v2" {
			t.Errorf("%s runs %s", svc, img)
		}
	}
}

func TestDeployRefusesUnknownServiceAndMissingEnvironment(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	assertRefused(t, tapctl(t, dir, "deploy", "--env", env, "--service", "billing", "--image", "x:1"), "unknown service")
	r := tapctl(t, dir, "deploy", "--env", env, "--service", "payment", "--image", "x:1")
	assertRefused(t, r, "does not exist")
	assertRefused(t, tapctl(t, dir, "rollback", "--env", env, "--service", "payment"), "does not exist")
	assertRefused(t, tapctl(t, dir, "deploy", "--env", env, "--service", "payment", "--all", "--image", "x:1"), "not both")
	if _, err := os.Stat(filepath.Join(dir, env+".json")); !os.IsNotExist(err) {
		t.Error("a refused deploy created a state file")
	}
	// An environment without an earlier deploy has nothing to roll back to.
	tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)
	r = tapctl(t, dir, "rollback", "--env", env, "--service", "order")
	if r.Code == 0 || !strings.Contains(r.Stderr, "nothing to roll back to") {
		t.Errorf("rollback without a deploy: exit %d, %q", r.Code, r.Stderr)
	}
	if m := r.Calls.Mutating(); len(m) != 0 {
		t.Errorf("refused rollback made %v", m)
	}
}
