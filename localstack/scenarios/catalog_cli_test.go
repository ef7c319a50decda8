package scenarios

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/localstack"
	"github.com/tapctl/tapctl/naming"
)

// A catalog file with problems is refused before any AWS call, by every command that reads
// it and with --config before or after the command: one stderr line per problem, each with
// the file, line and field, exit 2.
func TestBadCatalogFileIsRefusedBeforeAnyCall(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(t.TempDir(), "tapctl.yaml")
	must(t, os.WriteFile(path, []byte(`services:
  - name: payment
    priority: 10
  - name: search
    priority: 10
    cpu: 1024
    memory: 3000
    helthCheckPath: /health
`), 0o644))
	want := []string{
		path + ":8: services[1].helthCheckPath: unknown field",
		path + ":7: services[1].memory: 3000 is not a valid Fargate memory for cpu 1024 (2048–8192 in 1024 steps)",
	}
	for _, args := range [][]string{
		{"up", "--env", "e1", "--config", path}, {"--config", path, "up", "--env", "e1"},
		{"plan", "--env", "e1", "--config", path}, {"--config", path, "plan", "--env", "e1"},
		{"down", "--yes", "--env", "e1", "--config", path}, {"status", "--env", "e1", "--config", path},
		{"outputs", "--env", "e1", "--config", path}, {"deploy", "--env", "e1", "--all", "--image", "x", "--config", path},
	} {
		r := tapctl(t, dir, args...)
		lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
		if r.Code != 2 || len(lines) != len(want) {
			t.Errorf("%v: exit %d, stderr:\n%s", args, r.Code, r.Stderr)
			continue
		}
		for i, w := range want {
			if !strings.HasPrefix(lines[i], "tapctl: "+w) {
				t.Errorf("%v: line %d = %q, want %q", args, i, lines[i], w)
			}
		}
		if m, rd := r.Calls.Totals(); m+rd != 0 {
			t.Errorf("%v: %d mutating and %d read calls before refusing", args, m, rd)
		}
	}
	// The priority clash shows once the fields are right.
	must(t, os.WriteFile(path, []byte("services:\n  - name: payment\n    priority: 10\n  - name: search\n    priority: 10\n"), 0o644))
	assertRefused(t, tapctl(t, dir, "plan", "--env", "e1", "--config", path), path+":5: services[1].priority: 10 is already the priority of services[0]")
	assertRefused(t, tapctl(t, dir, "plan", "--env", "e1", "--config", filepath.Join(dir, "none.yaml")), "none.yaml: no such file (tapctl init writes one)")
	// A service name that leaves no room for the environment name in a target group name.
	must(t, os.WriteFile(path, []byte("services:\n  - name: aserviceoftwentyxyz\n    priority: 10\n"), 0o644))
	assertRefused(t, tapctl(t, dir, "plan", "--env", "pr6906abcdef", "--config", path), `target group name "aserviceoftwentyxyz-tg-pr6906abcdef" would be 35`)
	// A hyphen would let two (environment, service) pairs share AWS names.
	must(t, os.WriteFile(path, []byte("services:\n  - name: api-v2\n    priority: 10\n"), 0o644))
	assertRefused(t, tapctl(t, dir, "plan", "--env", "pr1", "--config", path), path+`:2: services[0].name: "api-v2": hyphens are not allowed in a service name`)
}

// init writes a file that loads back to the built-in catalog, refuses to overwrite it without
// --force, and a tapctl.yaml in the working directory is read without --config.
func TestInitWritesTheDefaultCatalogAndItIsReadFromTheWorkingDirectory(t *testing.T) {
	dir, work := t.TempDir(), t.TempDir()
	path := filepath.Join(work, "services.yaml")
	r := tapctl(t, dir, "init", "--config", path).mustSucceed(t)
	if !strings.Contains(r.Stdout, "wrote "+path) {
		t.Errorf("init said %q", r.Stdout)
	}
	got, err := catalog.Load(path)
	must(t, err)
	if !reflect.DeepEqual(got, catalog.Default()) {
		t.Fatalf("init wrote a catalog that loads as %+v", got)
	}
	raw, err := os.ReadFile(path)
	must(t, err)
	for _, field := range []string{"name:", "path:", "priority:", "port:", "image:", "cpu:", "memory:", "desiredCount:", "minCount:", "maxCount:", "cpuTarget:", "healthCheckPath:", "environment:"} {
		if !strings.Contains(string(raw), field) {
			t.Errorf("the written file does not show %s", field)
		}
	}
	must(t, os.WriteFile(path, []byte("# mine\n"), 0o644))
	assertRefused(t, tapctl(t, dir, "init", "--config", path), "already exists; edit it, or pass --force")
	if raw, _ := os.ReadFile(path); string(raw) != "# mine\n" {
		t.Fatal("init replaced an existing file without --force")
	}
	tapctl(t, dir, "init", "--config", path, "--force").mustSucceed(t)
	if got, err := catalog.Load(path); err != nil || !reflect.DeepEqual(got, catalog.Default()) {
		t.Fatalf("init --force: %v %v", got, err)
	}

	// ./tapctl.yaml is the catalog when --config is not given.
	t.Chdir(work)
	tapctl(t, dir, "init").mustSucceed(t)
	must(t, os.WriteFile(catalog.FileName, []byte("services:\n  - name: payment\n    priority: 0\n"), 0o644))
	r = tapctl(t, dir, "plan", "--env", "e1")
	if r.Code != 2 || !strings.Contains(r.Stderr, "tapctl.yaml:3: services[0].priority: 0 is out of range") {
		t.Fatalf("plan did not read ./tapctl.yaml: exit %d, %s", r.Code, r.Stderr)
	}
}

// The README's walkthrough with the built binary, in a working directory of its own: init, a
// fourth service appended, plan (2), up, plan (0), the service taken out, plan shows deletes
// (2), down removes everything.
func TestBinaryReadmeWalkthroughWithAFourthService(t *testing.T) {
	env := append(noProfile(t), "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_REGION=us-east-1", "AWS_ENDPOINT_URL="+localstack.Endpoint(t), "TAPCTL_LOG_FORMAT=json")
	name, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, name)
	binary(t) // built from the repository before leaving it
	t.Chdir(t.TempDir())
	run := func(wantCode int, args ...string) string {
		t.Helper()
		code, stdout, stderr := runBinary(t, env, append([]string{"--state-dir", dir}, args...)...)
		if code != wantCode {
			t.Fatalf("tapctl %v: exit %d, want %d\n%s\n%s", args, code, wantCode, stdout, stderr)
		}
		return stdout
	}
	run(0, "init")
	f, err := os.OpenFile(catalog.FileName, os.O_APPEND|os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteString("  - name: search\n    priority: 13\n    healthCheckPath: /healthz\n    environment:\n      LOG_LEVEL: info\n")
	must(t, err)
	must(t, f.Close())
	if out := run(2, "plan", "--env", name); !strings.Contains(out, "+ create  search/ecr-repository") || !strings.Contains(out, "Plan: 85 to add, 0 to change, 0 to destroy.") {
		t.Errorf("plan of a fresh environment with four services:\n%s", out)
	}
	run(0, "up", "--env", name, "--no-wait")
	if out := run(0, "plan", "--env", name); !strings.Contains(out, "No changes.") {
		t.Errorf("plan after up:\n%s", out)
	}
	run(0, "init", "--force")
	if out := run(2, "plan", "--env", name); !strings.Contains(out, "- delete  search/ecs-service") || !strings.Contains(out, "to destroy.") {
		t.Errorf("plan without search:\n%s", out)
	}
	run(0, "down", "--env", name, "--yes")
	if got := readServiceGone(t, name, "search"); got != "" {
		t.Errorf("down left %s", got)
	}
}

// readServiceGone names what is left of a service after down, or "".
func readServiceGone(t *testing.T, env, svc string) string {
	t.Helper()
	n := naming.Names{Env: env}
	ctx, c := context.Background(), clients(t)
	if _, err := c.ECR.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{n.Repository(svc)}}); err == nil {
		return "its ECR repository"
	}
	if out, err := c.ELB.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{n.TargetGroup(svc)}}); err == nil && len(out.TargetGroups) > 0 {
		return "its target group"
	}
	return ""
}
