package scenarios

import (
	"net"
	"strings"
	"testing"

	"github.com/tapctl/tapctl/localstack"
)

func TestBinaryMissingCredentials(t *testing.T) {
	code, _, stderr := runBinary(t, noProfile(t), "--endpoint", localstack.Endpoint(t), "--state-dir", t.TempDir(), "up", "--env", "pr1")
	oneLineError(t, code, stderr, "no AWS credentials found")
}

func TestBinaryUnreachableEndpoint(t *testing.T) {
	env := append(noProfile(t), "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing")
	code, _, stderr := runBinary(t, env, "--endpoint", "http://127.0.0.1:1", "--state-dir", t.TempDir(), "up", "--env", "pr1")
	oneLineError(t, code, stderr, "cannot reach")
}

func TestBinaryBadEnv(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := runBinary(t, noProfile(t), "--state-dir", dir, "up", "--env", "Bad_Env")
	oneLineError(t, code, stderr, "invalid --env")
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
}

func TestBinaryHelpHasExamples(t *testing.T) {
	for _, command := range []string{"up", "down", "status", "outputs", "list", "graph", "completion"} {
		code, stdout, _ := runBinary(t, nil, command, "--help")
		needsEnv := command != "list" && command != "completion"
		if code != 0 || !strings.Contains(stdout, "Examples") || needsEnv && !strings.Contains(stdout, "--env") {
			t.Errorf("%s --help: exit %d, output %q", command, code, stdout)
		}
	}
	code, stdout, _ := runBinary(t, nil, "--help")
	for _, flag := range []string{"--region", "--endpoint", "--state-dir", "--log-format", "--verbose"} {
		if code != 0 || !strings.Contains(stdout, flag) {
			t.Errorf("tapctl --help lacks %s", flag)
		}
	}
}

// The SDK's own endpoint variable works without --endpoint; console logs are plain lines.
func TestBinaryHonoursAWSEndpointURLAndConsoleLogs(t *testing.T) {
	env := append(noProfile(t), "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_REGION=us-east-1", "AWS_ENDPOINT_URL="+localstack.Endpoint(t))
	name, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, name)
	code, stdout, stderr := runBinary(t, env, "--state-dir", dir, "--log-format", "console", "up", "--env", name, "--no-wait")
	if code != 0 {
		t.Fatalf("up through AWS_ENDPOINT_URL: exit %d\n%s", code, stderr)
	}
	if strings.HasPrefix(strings.TrimSpace(stderr), "{") || !strings.Contains(stderr, "created VPC") {
		t.Errorf("console log is not plain lines:\n%.400s", stderr)
	}
	if !strings.Contains(stdout, "VpcId") {
		t.Errorf("outputs missing:\n%s", stdout)
	}
	code, _, stderr = runBinary(t, env, "--state-dir", dir, "--log-format", "xml", "status", "--env", name)
	oneLineError(t, code, stderr, "invalid --log-format")
	if code, _, stderr = runBinary(t, env, "--state-dir", dir, "down", "--yes", "--env", name); code != 0 {
		t.Fatalf("down: exit %d\n%s", code, stderr)
	}
}

// The real binary, with no test hook, gives up on an endpoint that accepts connections and never
// answers after the preflight's one attempt (cloud.DefaultAttemptTimeout, 30 s), with one line.
func TestBinarySilentEndpointFailsWithOneLine(t *testing.T) {
	t.Parallel() // it waits out the product's attempt timeout
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never written to
		}
	}()
	env := append(noProfile(t), "AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_REGION=us-east-1")
	dir := t.TempDir()
	code, _, stderr := runBinary(t, env, "--endpoint", "http://"+l.Addr().String(), "--state-dir", dir, "status", "--env", "pr1")
	oneLineError(t, code, stderr, "cannot reach the AWS endpoint")
	if code != 1 || !strings.HasPrefix(stderr, "tapctl: cannot reach the AWS endpoint") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
