package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/tapctl/tapctl/naming"
)

// listed is one environment of `tapctl list --output json`, field names as the README documents.
type listed struct {
	Name      string     `json:"name"`
	Created   *time.Time `json:"created"`
	Mesh      string     `json:"mesh"`
	Resources int        `json:"resources"`
	Region    string     `json:"region"`
	Expires   *time.Time `json:"expires"`
}

func listEnvs(t *testing.T, dir string) map[string]listed {
	t.Helper()
	r := tapctl(t, dir, "list", "--output", "json").mustSucceed(t)
	if m, _ := r.Calls.Totals(); m != 0 {
		t.Errorf("list made %d mutating calls", m)
	}
	var raw []map[string]any
	must(t, json.Unmarshal([]byte(r.Stdout), &raw))
	for _, e := range raw {
		for _, field := range []string{"name", "created", "mesh", "resources", "region", "expires"} {
			if _, ok := e[field]; !ok {
				t.Errorf("list JSON entry lacks %q: %v", field, e)
			}
		}
	}
	var envs []listed
	must(t, json.Unmarshal([]byte(r.Stdout), &envs))
	out := map[string]listed{}
	for _, e := range envs {
		out[e.Name] = e
	}
	return out
}

// list finds environments by their tags alone: another machine (another state dir) sees them,
// with their mesh mode, creation time and resource count; after down one is gone.
func TestListFindsEnvironmentsByTags(t *testing.T) {
	a, b := newEnvName(t), newEnvName(t)
	dirA, dirB := t.TempDir(), t.TempDir()
	downAtCleanup(t, dirA, a)
	downAtCleanup(t, dirB, b)
	tapctl(t, dirA, "up", "--env", a, "--no-wait").mustSucceed(t)
	tapctl(t, dirB, "up", "--env", b, "--no-wait", "--mesh", "none").mustSucceed(t)

	elsewhere := t.TempDir() // list reads no state file
	envs := listEnvs(t, elsewhere)
	for name, mesh := range map[string]string{a: "service-connect", b: "none"} {
		e, ok := envs[name]
		if !ok {
			t.Fatalf("list does not show %s: %v", name, envs)
		}
		if e.Resources < 30 || e.Mesh != mesh || e.Region != "us-east-1" || e.Created == nil || time.Since(*e.Created) > time.Hour {
			t.Errorf("list entry %+v: want 30+ resources, mesh %s, region us-east-1, created just now", e, mesh)
		}
	}
	table := tapctl(t, elsewhere, "list").mustSucceed(t).Stdout
	for _, want := range []string{"ENVIRONMENT", "RESOURCES", a, b, "service-connect"} {
		if !strings.Contains(table, want) {
			t.Errorf("list table lacks %q:\n%s", want, table)
		}
	}

	tapctl(t, dirB, "down", "--yes", "--env", b).mustSucceed(t)
	envs = listEnvs(t, elsewhere)
	if _, ok := envs[b]; ok {
		t.Errorf("list still shows %s after down: %+v", b, envs[b])
	}
	if _, ok := envs[a]; !ok {
		t.Errorf("list lost %s", a)
	}
}

// The JSON of status and outputs parses and holds the documented fields; --json still works.
func TestStatusAndOutputsJSONHoldDocumentedFields(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)

	var outputs map[string]string
	must(t, json.Unmarshal([]byte(tapctl(t, dir, "outputs", "--env", env, "--output", "json").mustSucceed(t).Stdout), &outputs))
	n := naming.Names{Env: env}
	for field, want := range map[string]string{"ClusterName": n.Cluster(), "VpcId": "vpc-", "LoadBalancerDns": ".", "EcrRepoPayment": "payment"} {
		if !strings.Contains(outputs[field], want) {
			t.Errorf("outputs JSON %s = %q, want it to contain %q", field, outputs[field], want)
		}
	}
	var legacy map[string]string
	must(t, json.Unmarshal([]byte(tapctl(t, dir, "outputs", "--env", env, "--json").mustSucceed(t).Stdout), &legacy))
	if legacy["VpcId"] != outputs["VpcId"] {
		t.Errorf("outputs --json differs from --output json: %v", legacy)
	}
	assertRefused(t, tapctl(t, dir, "outputs", "--env", env, "--output", "yaml"), "invalid --output")

	var statuses []map[string]any
	must(t, json.Unmarshal([]byte(tapctl(t, dir, "status", "--env", env, "--output", "json").mustSucceed(t).Stdout), &statuses))
	if len(statuses) < 12 {
		t.Fatalf("status JSON has %d entries", len(statuses))
	}
	for _, s := range statuses {
		for _, field := range []string{"step", "resource", "stateId", "aws"} {
			if _, ok := s[field]; !ok {
				t.Errorf("status JSON entry lacks %q: %v", field, s)
			}
		}
	}
}

// graph colours each step by what AWS holds; a resource deleted behind tapctl's back shows as
// missing. The dot output is parsed by Graphviz when installed; the Mermaid output is checked
// structurally.
func TestGraphShowsStateAndParses(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)
	group := (naming.Names{Env: env}).LogGroup("order")
	_, err := clients(t).Logs.DeleteLogGroup(context.Background(), &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(group)})
	must(t, err)
	// Drift behind tapctl's back: another log group's retention.
	_, err = clients(t).Logs.PutRetentionPolicy(context.Background(), &cloudwatchlogs.PutRetentionPolicyInput{
		LogGroupName: aws.String((naming.Names{Env: env}).LogGroup("payment")), RetentionInDays: aws.Int32(30)})
	must(t, err)

	r := tapctl(t, dir, "graph", "--env", env).mustSucceed(t)
	if m, _ := r.Calls.Totals(); m != 0 {
		t.Errorf("graph made %d mutating calls", m)
	}
	dot := r.Stdout
	if !regexp.MustCompile(`"order/log-group" \[label="log-group\\nmissing"`).MatchString(dot) {
		t.Errorf("the deleted log group is not drawn missing:\n%s", grepLines(dot, "log-group"))
	}
	if !regexp.MustCompile(`"payment/log-group" \[label="log-group\\ndrifted"`).MatchString(dot) {
		t.Errorf("the log group with another retention is not drawn drifted:\n%s", grepLines(dot, "log-group"))
	}
	if !regexp.MustCompile(`"vpc" \[label="vpc\\ncreated"`).MatchString(dot) || !strings.Contains(dot, `"vpc" -> "subnets"`) {
		t.Errorf("vpc not created or its edge missing:\n%s", grepLines(dot, `"vpc"`))
	}
	renderDot(t, dot)

	mermaid := tapctl(t, dir, "graph", "--env", env, "--format", "mermaid").mustSucceed(t).Stdout
	checkMermaid(t, mermaid)
	if !strings.Contains(mermaid, "log-group<br/>missing") || !strings.Contains(mermaid, "classDef missing") {
		t.Errorf("mermaid does not show the missing log group:\n%s", grepLines(mermaid, "missing"))
	}

	assertRefused(t, tapctl(t, dir, "graph", "--env", env, "--format", "png"), "invalid --format")
	assertRefused(t, tapctl(t, dir, "graph"), "--offline")
	offline := tapctl(t, t.TempDir(), "graph", "--offline").mustSucceed(t)
	if m, rd := offline.Calls.Totals(); m+rd != 0 || strings.Contains(offline.Stdout, "created") {
		t.Errorf("graph --offline made %d calls or drew states", m+rd)
	}
	renderDot(t, offline.Stdout)
}

// renderDot runs Graphviz on the output (skipped where Graphviz is not installed).
func renderDot(t *testing.T, dot string) {
	t.Helper()
	if _, err := exec.LookPath("dot"); err != nil {
		t.Log("Graphviz (dot) not installed: the dot output is not rendered")
		return
	}
	c := exec.Command("dot", "-Tsvg")
	c.Stdin = strings.NewReader(dot)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil || errb.Len() > 0 || !strings.Contains(out.String(), "<svg") {
		t.Errorf("dot -Tsvg: %v %s", err, errb.String())
	}
}

// checkMermaid: a flowchart whose edges and classes name declared nodes only.
func checkMermaid(t *testing.T, text string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if lines[0] != "flowchart LR" {
		t.Fatalf("mermaid starts with %q", lines[0])
	}
	declared := map[string]bool{}
	node := regexp.MustCompile(`^\s*(\w+)\["[^"]*"\]$`)
	edge := regexp.MustCompile(`^\s*(\w+) --> (\w+)$`)
	class := regexp.MustCompile(`^\s*class ([\w,]+) \w+$`)
	edges, opened := 0, 0
	for _, l := range lines[1:] {
		if m := node.FindStringSubmatch(l); m != nil {
			declared[m[1]] = true
		}
	}
	for _, l := range lines[1:] {
		switch {
		case node.MatchString(l):
		case edge.MatchString(l):
			m := edge.FindStringSubmatch(l)
			edges++
			if !declared[m[1]] || !declared[m[2]] {
				t.Errorf("edge to an undeclared node: %q", l)
			}
		case class.MatchString(l):
			for _, id := range strings.Split(class.FindStringSubmatch(l)[1], ",") {
				if !declared[id] {
					t.Errorf("class of an undeclared node: %q", l)
				}
			}
		case strings.HasPrefix(strings.TrimSpace(l), "subgraph "):
			opened++
		case strings.TrimSpace(l) == "end":
			opened--
		case strings.HasPrefix(strings.TrimSpace(l), "classDef "):
		default:
			t.Errorf("unexpected mermaid line %q", l)
		}
	}
	if opened != 0 || edges < 50 || len(declared) < 50 {
		t.Errorf("mermaid: %d unclosed subgraphs, %d edges, %d nodes", opened, edges, len(declared))
	}
}

func grepLines(text, want string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, want) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Without a terminal, up and down write plain log lines (console or JSON), never an escape code,
// and the summary is a log line with the counts.
func TestProgressWithoutATerminalIsPlainLogLines(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	for _, args := range [][]string{
		{"--log-format", "console", "up", "--env", env, "--no-wait"},
		{"up", "--env", env, "--no-wait"},
		{"--log-format", "console", "down", "--yes", "--env", env},
	} {
		r := tapctl(t, dir, args...).mustSucceed(t)
		if strings.Contains(r.Stderr, "\x1b") {
			t.Errorf("tapctl %s wrote an escape code without a terminal:\n%q", strings.Join(args, " "), firstEscape(r.Stderr))
		}
		verb := args[slices.IndexFunc(args, func(a string) bool { return a == "up" || a == "down" })]
		if !strings.Contains(r.Stderr, verb+" finished") || !strings.Contains(r.Stderr, "created") || !strings.Contains(r.Stderr, "unchanged") {
			t.Errorf("tapctl %s: no summary line:\n%s", strings.Join(args, " "), lastLines(r.Stderr, 3))
		}
	}
}

func firstEscape(s string) string {
	i := strings.Index(s, "\x1b")
	return s[max(0, i-80):min(len(s), i+80)]
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// tapctl version and --version print what the build set (as `make build` does with ldflags).
func TestBinaryVersion(t *testing.T) {
	want := "tapctl " + testVersion + " (commit " + testCommit + ")\n"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, stdout, stderr := runBinary(t, nil, args...)
		if code != 0 || stdout != want {
			t.Errorf("tapctl %s: exit %d, %q %q; want %q", args[0], code, stdout, stderr, want)
		}
	}
}

// Each shell gets a completion script; bash's is valid bash and completes commands and flags
// by asking the binary itself.
func TestBinaryCompletion(t *testing.T) {
	scripts := map[string]string{}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		code, stdout, stderr := runBinary(t, nil, "completion", shell)
		if code != 0 || len(stdout) < 100 {
			t.Fatalf("completion %s: exit %d, %q %q", shell, code, stdout, stderr)
		}
		scripts[shell] = stdout
	}
	if !strings.Contains(scripts["fish"], "complete -c tapctl") || !strings.Contains(scripts["zsh"], "compdef _tapctl tapctl") {
		t.Errorf("fish or zsh script does not complete tapctl:\n%s\n%s", scripts["fish"], scripts["zsh"])
	}
	code, _, stderr := runBinary(t, nil, "completion", "tcsh")
	oneLineError(t, code, stderr, "unknown shell")

	for _, shell := range []string{"bash", "zsh"} {
		if _, err := exec.LookPath(shell); err != nil {
			t.Logf("%s not installed: its script is not syntax-checked", shell)
			continue
		}
		c := exec.Command(shell, "-n")
		c.Stdin = strings.NewReader(scripts[shell])
		if out, err := c.CombinedOutput(); err != nil {
			t.Errorf("%s -n rejects the script: %v %s", shell, err, out)
		}
	}
	if _, err := exec.LookPath("bash"); err != nil {
		return
	}
	// Complete "tapctl li" and "tapctl graph --for" with the real binary on PATH.
	script := scripts["bash"] + `
COMP_WORDS=(tapctl li); COMP_CWORD=1; _tapctl_complete; echo "${COMPREPLY[*]}"
COMP_WORDS=(tapctl graph --for); COMP_CWORD=2; _tapctl_complete; echo "${COMPREPLY[*]}"
`
	c := exec.Command("bash", "--norc", "--noprofile", "-c", script)
	c.Env = []string{"PATH=" + filepath.Dir(binary(t)) + ":/usr/bin:/bin", "HOME=" + t.TempDir()}
	out, err := c.CombinedOutput()
	if err != nil || string(out) != "list\n--format\n" {
		t.Errorf("bash completion: %v, got %q, want \"list\\n--format\\n\"", err, out)
	}
}
