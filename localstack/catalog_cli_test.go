package localstack

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tapctl/tapctl/catalog"
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
	must(t, os.WriteFile(path, []byte("services:\n  - name: a-service-of-twenty\n    priority: 10\n"), 0o644))
	assertRefused(t, tapctl(t, dir, "plan", "--env", "pr6906abcdef", "--config", path), `target group name "a-service-of-twenty-tg-pr6906abcdef" would be 35`)
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
