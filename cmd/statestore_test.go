package cmd

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tapctl/tapctl/localstack/awstest"
)

// A bad --state or --lock-lease is bad input: one line, exit 2, before any AWS call (the
// endpoint is a silent one that counts connections), for every command that reads state.
func TestBadStateFlagsAreRefusedBeforeAnyCall(t *testing.T) {
	isolateAWS(t)
	silent := awstest.NewSilentEndpoint(t)
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"--state", "http://bucket/x", "up", "--env", "pr1"}, "expected s3://BUCKET/PREFIX"},
		{[]string{"--state", "s3://Bad_Bucket/ci", "down", "--yes", "--env", "pr1"}, "is not a bucket name"},
		{[]string{"--state", "s3://", "outputs", "--env", "pr1"}, "names no bucket"},
		{[]string{"--state", "s3://my-state/a//b", "status", "--env", "pr1"}, "no empty segments"},
		{[]string{"--state", "s3://my-state/ci", "--lock-lease", "0s", "up", "--env", "pr1"}, "invalid --lock-lease 0s"},
		{[]string{"--state", "s3://my-state/ci", "--lock-lease", "2h", "unlock", "--yes", "--env", "pr1"}, "invalid --lock-lease 2h0m0s"},
		{[]string{"--state", "s3://my-state/ci", "unlock", "--env", "pr1"}, "pass --yes"},
		{[]string{"--state", "s3://my-state/ci", "unlock", "--yes", "--env", "Bad"}, "invalid --env"},
		{[]string{"state", "init"}, "takes one argument"},
		{[]string{"state", "init", "s3://ab"}, "is not a bucket name"},
		{[]string{"state", "frob"}, "unknown state subcommand"},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"tapctl", "--endpoint", silent.URL, "--state-dir", t.TempDir()}, c.args...)
		code := Run(context.Background(), args, Options{Stdout: &stdout, Stderr: &stderr})
		msg := strings.TrimSpace(stderr.String())
		if code != ExitUsage || strings.Contains(msg, "\n") || !strings.Contains(msg, c.says) || stdout.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit 2 and one line saying %q", c.args, code, msg, stdout.String(), c.says)
		}
	}
	if n := silent.Accepted(); n != 0 {
		t.Errorf("bad input made %d connections", n)
	}
}
