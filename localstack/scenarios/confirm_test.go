package scenarios

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tapctl/tapctl/cmd"
	"github.com/tapctl/tapctl/localstack"
)

// Without a terminal and without --yes, down refuses before any AWS call.
func TestDownWithoutTerminalOrYesIsRefused(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)
	r := tapctl(t, dir, "down", "--env", env)
	assertRefused(t, r, "pass --yes")
	if m, rd := r.Calls.Totals(); m+rd != 0 {
		t.Errorf("a refused down made %d calls", m+rd)
	}
	code, _, stderr := runBinary(t, noProfile(t), "--state-dir", dir, "down", "--env", env)
	if code != 2 || !strings.Contains(stderr, "pass --yes") {
		t.Errorf("binary down with stdin not a terminal: exit %d, %q", code, stderr)
	}
	if network := readNetwork(t, env); network.count() == 0 {
		t.Fatal("a refused down deleted the network")
	}
}

// On a terminal, down lists what it will delete and goes on only after "yes".
func TestDownAsksOnATerminal(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)
	down := func(answer string) (int, string) {
		var out, errOut bytes.Buffer
		code := cmd.Run(context.Background(), []string{"tapctl", "--endpoint", localstack.Endpoint(t), "--state-dir", dir, "--log-format", "json", "down", "--env", env},
			cmd.Options{Stdout: &out, Stderr: &errOut, Stdin: strings.NewReader(answer), Interactive: func() bool { return true }})
		return code, out.String() + errOut.String()
	}
	code, out := down("no\n")
	if code == 0 || !strings.Contains(out, "nothing was deleted") || !strings.Contains(out, "vpc") {
		t.Fatalf("answer no: exit %d\n%s", code, out)
	}
	if readNetwork(t, env).count() == 0 {
		t.Fatal("down went on after 'no'")
	}
	if code, out = down("yes\n"); code != 0 {
		t.Fatalf("answer yes: exit %d\n%s", code, out)
	}
	if n := readNetwork(t, env).count(); n != 0 {
		t.Errorf("%d network resources left after a confirmed down", n)
	}
}
