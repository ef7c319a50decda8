package scenarios

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tapctl/tapctl/state"
)

func TestBadEnvIsRefusedBeforeAnyCall(t *testing.T) {
	dir := t.TempDir()
	for env, want := range map[string]string{
		"PR6906":          "lowercase",
		"9lives":          "start with a lowercase letter",
		"abcdefghijklmno": "too long",
		"pr_1":            "hyphens",
	} {
		for _, command := range []string{"up", "down", "status"} {
			r := tapctl(t, dir, append(commandArgs(command), "--env", env)...)
			assertRefused(t, r, want)
			if r.Code != 2 {
				t.Errorf("%s --env %s exit %d, want 2", command, env, r.Code)
			}
		}
	}
	assertRefused(t, tapctl(t, dir, "up"), "env")
	assertRefused(t, tapctl(t, dir, "--region", "moon", "up", "--env", "ok"), "unknown region")
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("refused runs left files in the state directory: %v", entries)
	}
}

func TestCorruptStateFileIsReportedAndKept(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	path := filepath.Join(dir, env+".json")
	garbage := []byte(`{"schemaVersion":1,"env":"` + env + `","resources":{"vpc":`)
	must(t, os.WriteFile(path, garbage, 0o600))
	for _, command := range []string{"up", "down"} {
		assertRefused(t, tapctl(t, dir, append(commandArgs(command), "--env", env)...), "corrupt")
		got, err := os.ReadFile(path)
		must(t, err)
		if string(got) != string(garbage) {
			t.Fatalf("%s changed the corrupt state file", command)
		}
	}
	newer := []byte(`{"schemaVersion":99,"env":"` + env + `","resources":{}}`)
	must(t, os.WriteFile(path, newer, 0o600))
	assertRefused(t, tapctl(t, dir, "up", "--env", env), "newer")
	got, _ := os.ReadFile(path)
	if string(got) != string(newer) {
		t.Fatal("up changed a state file of a newer schema")
	}
}

func TestHeldLockIsReportedWithItsHolder(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	lock, err := state.Acquire(dir, env)
	must(t, err)
	defer lock.Release()
	for _, command := range []string{"up", "down"} {
		r := tapctl(t, dir, append(commandArgs(command), "--env", env)...)
		assertRefused(t, r, "in use by another tapctl")
		host, _ := os.Hostname()
		if !strings.Contains(r.Stderr, host) || !strings.Contains(r.Stderr, "pid") {
			t.Errorf("lock message does not name the holder: %q", r.Stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, env+".json")); !os.IsNotExist(err) {
		t.Errorf("a refused run created the state file")
	}
}

// An environment lives in one region: a run aimed at another is refused before any change.
func TestRunInAnotherRegionIsRefused(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	st, err := state.Open(dir, env)
	must(t, err)
	must(t, st.SetSetting("region", "eu-west-1"))
	for _, command := range []string{"up", "down"} {
		r := tapctl(t, dir, append([]string{"--region", "us-east-1"}, append(commandArgs(command), "--env", env)...)...)
		if r.Code == 0 || !strings.Contains(r.Stderr, "was created in eu-west-1") {
			t.Errorf("%s in another region: exit %d, %q", command, r.Code, r.Stderr)
		}
		if m, rd := r.Calls.Totals(); m+rd != 0 {
			t.Errorf("%s made %d calls before refusing", command, m+rd)
		}
	}
}

// assertBadInput: bad input is one line on stderr, nothing on stdout, exit code 2, and no AWS
// call at all.
func assertBadInput(t *testing.T, r result, want string) {
	t.Helper()
	assertRefused(t, r, want)
	if r.Code != 2 {
		t.Errorf("exit %d, want 2 (bad input)", r.Code)
	}
	if r.Stdout != "" {
		t.Errorf("stdout holds %q, want nothing", r.Stdout)
	}
}

// Every gap the input checks closed: each bad input through the real command line exits 2
// with one line before any AWS call.
func TestBadInputExitsTwoWithOneLineBeforeAnyCall(t *testing.T) {
	dir, files := t.TempDir(), t.TempDir()
	catalogFile := func(name, text string) string {
		path := filepath.Join(files, name)
		must(t, os.WriteFile(path, []byte(text), 0o644))
		return path
	}
	twoLists := catalogFile("two-lists.yaml", "services:\n  - name: payment\n    priority: 10\nservices:\n  - name: search\n    priority: 13\n")
	fieldTwice := catalogFile("field-twice.yaml", "services:\n  - name: payment\n    priority: 10\n    priority: 11\n")
	hyphen := catalogFile("hyphen.yaml", "services:\n  - name: api-v2\n    priority: 10\n")
	badImage := catalogFile("image.yaml", "services:\n  - name: payment\n    priority: 10\n    image: Payment:v1\n")
	var many strings.Builder
	many.WriteString("services:\n")
	for i := range 51 {
		fmt.Fprintf(&many, "  - name: s%d\n    priority: %d\n", i, i+1)
	}
	tooMany := catalogFile("many.yaml", many.String())
	fifo := filepath.Join(files, "fifo")
	must(t, syscall.Mkfifo(fifo, 0o600))
	huge := catalogFile("huge.yaml", "")
	must(t, os.Truncate(huge, 2<<30)) // sparse: no disk, and never read through

	for _, tc := range []struct {
		args []string
		want string
	}{
		// Commands and required flags.
		{[]string{"frobnicate"}, `unknown command "frobnicate": the commands are up, down,`},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"up"}, "up needs --env (for example --env pr6906)"},
		{[]string{"plan"}, "plan needs --env"},
		{[]string{"down", "--yes"}, "down needs --env"},
		{[]string{"status"}, "status needs --env"},
		{[]string{"outputs"}, "outputs needs --env"},
		{[]string{"deploy", "--env", "pr1", "--all"}, "deploy needs --image"},
		{[]string{"rollback", "--env", "pr1"}, "rollback needs --service"},
		{[]string{"up", "pr1"}, `up takes no arguments, got "pr1"`},
		{[]string{"up", "--env"}, "flag needs an argument"},
		{[]string{"up", "--env", "pr1", "--frobnicate"}, "flag provided but not defined"},
		// The catalog file.
		{[]string{"--config", "", "up", "--env", "pr1"}, "--config must not be empty"},
		{[]string{"plan", "--env", "pr1", "--config", ""}, "--config must not be empty"},
		{[]string{"plan", "--env", "pr1", "--config", files}, files + ": is a directory, not a file"},
		{[]string{"plan", "--env", "pr1", "--config", fifo}, fifo + ": is a named pipe (FIFO), not a file"},
		{[]string{"plan", "--env", "pr1", "--config", "/dev/zero"}, "/dev/zero: is a device, not a file"},
		{[]string{"plan", "--env", "pr1", "--config", huge}, huge + ": larger than 1 MiB"},
		{[]string{"plan", "--env", "pr1", "--config", twoLists}, twoLists + ":4: services: given twice, at lines 1 and 4; keep one list and put every service in it"},
		{[]string{"plan", "--env", "pr1", "--config", fieldTwice}, fieldTwice + ":4: services[0].priority: given twice, at lines 3 and 4"},
		{[]string{"plan", "--env", "pr1", "--config", hyphen}, hyphen + `:2: services[0].name: "api-v2": hyphens are not allowed in a service name`},
		{[]string{"plan", "--env", "pr1", "--config", badImage}, badImage + `:4: services[0].image: "Payment:v1": not a container image reference`},
		{[]string{"plan", "--env", "pr1", "--config", tooMany}, tooMany + ":2: services: 51 services; at most 50 fit one load balancer"},
		// Flag values.
		{[]string{"deploy", "--env", "pr1", "--all", "--image", "Payment:v1"}, `invalid --image "Payment:v1": not a container image reference`},
		{[]string{"deploy", "--env", "pr1", "--all", "--image", "shop:v2 latest"}, "not a container image reference"},
		{[]string{"deploy", "--env", "pr1", "--service", "api-v2", "--image", "shop:v2"}, `invalid --service "api-v2": hyphens are not allowed`},
		{[]string{"rollback", "--env", "pr1", "--service", "api-v2"}, `invalid --service "api-v2": hyphens are not allowed`},
		{[]string{"up", "--env", "pr1", "--timeout", "0s"}, "invalid --timeout 0s: the longest wait must be more than 0"},
		{[]string{"up", "--env", "pr1", "--timeout", "-5m"}, "invalid --timeout -5m0s"},
		{[]string{"deploy", "--env", "pr1", "--all", "--image", "shop:v2", "--timeout", "0s"}, "invalid --timeout 0s"},
		{[]string{"rollback", "--env", "pr1", "--service", "payment", "--timeout", "-1s"}, "invalid --timeout -1s"},
		{[]string{"up", "--env", "pr1", "--timeout", "soon"}, `invalid value "soon" for flag -timeout`},
		{[]string{"up", "--env", "pr1", "--bake-time", "-1m"}, "invalid --bake-time -1m0s: whole minutes from 0m to 1440m"},
		{[]string{"plan", "--env", "pr1", "--bake-time", "90s"}, "invalid --bake-time 1m30s"},
		{[]string{"up", "--env", "pr1", "--parallelism", "0"}, "invalid --parallelism 0"},
		{[]string{"up", "--env", "pr1", "--base", "Preview!"}, "invalid --base: "},
		{[]string{"up", "--env", "pr1", "--base", "pr1"}, "invalid --base pr1: an environment cannot be its own base"},
		{[]string{"up", "--env", "pr1", "--base", "preview", "--mesh", "appmesh"}, "--mesh appmesh needs an isolated environment"},
	} {
		assertBadInput(t, tapctl(t, dir, tc.args...), tc.want)
	}
	for _, endpoint := range []string{"foo", "localhost:4566", "http://", "ftp://127.0.0.1:4566", "http://127.0.0.1:port"} {
		for _, args := range [][]string{{"up", "--env", "pr1"}, {"list"}, {"status", "--env", "pr1"}} {
			assertBadInput(t, tapctlAt(t, endpoint, dir, nil, args...), "invalid --endpoint")
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused runs left files in the state directory: %v", entries)
	}
	// Help is still there, in every spelling.
	for _, args := range [][]string{{"up", "help"}, {"help", "up"}, {"up", "--help"}} {
		if r := tapctl(t, dir, args...); r.Code != 0 || !strings.Contains(r.Stdout, "tapctl up - create the environment") {
			t.Errorf("tapctl %v: exit %d, stdout %q", args, r.Code, r.Stdout)
		}
	}
}
