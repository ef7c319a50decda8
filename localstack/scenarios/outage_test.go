package scenarios

import (
	"strings"
	"testing"
)

// An endpoint lost mid-run ends up with one short summary line and at most one short line per
// failed step, not every step's SDK error chain: the proxy is unplugged right after the k-th
// mutating call (whose answer is lost too), so the run is cut at a point the test chooses, with
// several steps running. Every call after that meets a reset connection and is retried by the
// SDK up to its 10 attempts before the steps give up.
func TestLostEndpointEndsWithOneShortSummary(t *testing.T) {
	t.Parallel()
	p, env, dir := startProxy(t), newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	p.KillAfterMutating(8, func(string) { p.Unplug() })
	r := tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--no-wait")
	p.Settle()
	if r.Code != 1 {
		t.Errorf("exit %d, want 1", r.Code)
	}
	// tapctl's own ending: from its "tapctl: " line to the end (the log lines come before it).
	at := strings.Index(r.Stderr, "\ntapctl: ")
	if at < 0 {
		t.Fatalf("no tapctl: line in\n%s", tail(r.Stderr, 5))
	}
	ending := r.Stderr[at+1:]
	t.Logf("the run ends with (%d bytes):\n%s", len(ending), ending)
	lines := strings.Split(strings.TrimRight(ending, "\n"), "\n")
	summary := lines[0]
	if !strings.HasPrefix(summary, "tapctl: cannot reach the AWS endpoint (") || !strings.Contains(summary, "failed: ") ||
		!strings.HasSuffix(summary, "; the state file is saved; run the same command again") {
		t.Errorf("summary line %q", summary)
	}
	if len(ending) > 2<<10 {
		t.Errorf("the ending is %d bytes, want under 2 KiB", len(ending))
	}
	seen := map[string]bool{}
	for _, line := range lines[1:] {
		if seen[line] || !strings.HasPrefix(line, "  ") || strings.Contains(line, "operation error") || len(line) > 300 {
			t.Errorf("detail line %q: want each failed step once, indented, short, without the SDK's chain", line)
		}
		seen[line] = true
	}
	if strings.Count(r.Stderr, "\ntapctl: ") != 1 {
		t.Errorf("more than one tapctl: line")
	}
	// A run that lost its endpoint is finished by the next one.
	tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)
}
