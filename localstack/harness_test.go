package localstack

// TestMain (localstack.Main) is in main_test.go.

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestEmulatorAnswers is also what `make emulator-install` runs: it installs moto on first use.
func TestEmulatorAnswers(t *testing.T) {
	ep := Endpoint(t)
	external := os.Getenv(EndpointVariable) != ""

	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(ep + "/moto-api/")
	if err != nil {
		t.Fatalf("emulator at %s does not answer: %v", ep, err)
	}
	resp.Body.Close()
	if !external && resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/moto-api/: %s", ep, resp.Status)
	}

	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !external && (creds.AccessKeyID != "testing" || creds.Source != "EnvConfigCredentials") {
		t.Errorf("credentials %q from %q, want the fake ones from the environment", creds.AccessKeyID, creds.Source)
	}
	if cfg.Region == "" {
		t.Error("no region configured")
	}

	out, err := sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(ep) }).
		GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	account := aws.ToString(out.Account)
	switch {
	case account == "":
		t.Error("GetCallerIdentity returned no account")
	case !external && account != "123456789012":
		t.Errorf("account %q, want moto's 123456789012", account)
	}
}

func TestMainIsolatesTheDevelopersAWSConfiguration(t *testing.T) {
	if os.Getenv("AWS_PROFILE") != "" {
		t.Error("AWS_PROFILE is still set")
	}
	for _, k := range []string{"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
		st, err := os.Stat(os.Getenv(k))
		if err != nil {
			t.Errorf("%s=%q: %v", k, os.Getenv(k), err)
		} else if st.Size() != 0 {
			t.Errorf("%s=%q is not empty", k, os.Getenv(k))
		}
	}
}

func TestStartGivesIndependentEmulatorsAndStopEndsThem(t *testing.T) {
	if os.Getenv(EndpointVariable) != "" {
		t.Skip("TAPCTL_TEST_ENDPOINT is set: this run does not use moto")
	}
	if testing.Short() {
		t.Skip("starts two extra emulators")
	}
	ctx := context.Background()
	a, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop() })
	b, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Stop() })
	if a.URL == b.URL {
		t.Fatalf("both emulators on %s", a.URL)
	}
	if a.URL == Endpoint(t) || b.URL == Endpoint(t) {
		t.Fatalf("a started emulator shares the package's endpoint %s", Endpoint(t))
	}

	// A log group made in a is not in b; Reset empties a.
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	logsAt := func(url string) *cloudwatchlogs.Client {
		return cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) { o.BaseEndpoint = aws.String(url) })
	}
	const group = "/tapctl/harness-independence"
	count := func(url string) int {
		t.Helper()
		out, err := logsAt(url).DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.LogGroups)
	}
	if _, err := logsAt(a.URL).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if n := count(a.URL); n != 1 {
		t.Errorf("%d log groups in a after creating one", n)
	}
	if n := count(b.URL); n != 0 {
		t.Errorf("%d log groups in b: the emulators share state", n)
	}
	if err := Reset(a.URL); err != nil {
		t.Fatal(err)
	}
	if n := count(a.URL); n != 0 {
		t.Errorf("%d log groups in a after Reset", n)
	}

	for _, e := range []*Emulator{a, b} {
		pgid, logPath := e.cmd.Process.Pid, e.logPath
		if err := e.Stop(); err != nil {
			t.Errorf("Stop %s: %v", e.URL, err)
		}
		if err := e.Stop(); err != nil {
			t.Errorf("second Stop %s: %v", e.URL, err)
		}
		if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process group %d of %s still exists after Stop (kill 0: %v)", pgid, e.URL, err)
		}
		if resp, err := http.Get(e.URL + "/moto-api/"); err == nil {
			resp.Body.Close()
			t.Errorf("%s still answers after Stop", e.URL)
		}
		if _, err := os.Stat(logPath); !os.IsNotExist(err) {
			t.Errorf("log %s left behind after Stop (%v)", logPath, err)
		}
	}
}

func TestResetDoesNothingForAnExternalEndpoint(t *testing.T) {
	t.Setenv(EndpointVariable, "http://127.0.0.1:1")
	if err := Reset("http://127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
}

// fakeServer writes a script that stands in for moto_server.
func fakeServer(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "moto_server")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestStartReportsAnEarlyExitWithTheLogTail(t *testing.T) {
	server := fakeServer(t, `i=1; while [ $i -le 30 ]; do echo "line $i"; i=$((i+1)); done; echo "ImportError: boom" >&2; exit 3`)
	_, err := startOn(context.Background(), server)
	var se *startError
	if !errors.As(err, &se) {
		t.Fatalf("error %v, want a start error", err)
	}
	defer os.Remove(se.logPath)
	msg := err.Error()
	for _, want := range []string{"exited during start-up", "exit status 3", "ImportError: boom", "line 30", "line 12"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "line 11\n") {
		t.Errorf("error holds more than the last 20 lines:\n%s", msg)
	}
	if line := oneLine(err); strings.Contains(line, "\n") || !strings.Contains(line, se.logPath) {
		t.Errorf("Main's message %q is not one line naming the log", line)
	}
}

func TestStartOnATakenPortAsksForAnotherPort(t *testing.T) {
	server := fakeServer(t, `echo "Address already in use" >&2; echo "Port is in use by another program." >&2; exit 1`)
	if _, err := startOn(context.Background(), server); !errors.Is(err, errPortTaken) {
		t.Fatalf("error %v, want errPortTaken", err)
	}
}

func TestAnAnswerFromAnotherProcessIsNotTakenForMoto(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	if !ownsListener(os.Getpid(), port) {
		t.Errorf("this process's listener on %d not recognised", port)
	}
	if ownsListener(os.Getppid(), port) {
		t.Errorf("listener on %d attributed to the parent process", port)
	}
}

// The race Start guards against: between picking a port and moto binding it, another process (here
// a fake that answers like moto) takes it. Start must not take that process for its moto.
func TestStartRetriesWhenAnotherServerTookThePort(t *testing.T) {
	if os.Getenv(EndpointVariable) != "" {
		t.Skip("TAPCTL_TEST_ENDPOINT is set: this run does not use moto")
	}
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp: the owner of a port cannot be told")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	impostor := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})}
	go impostor.Serve(l)
	defer impostor.Close()
	taken := l.Addr().(*net.TCPAddr).Port

	calls := 0
	pickPort = func() (int, error) {
		calls++
		if calls == 1 {
			return taken, nil
		}
		return freePort()
	}
	defer func() { pickPort = freePort }()

	e, err := Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	if calls != 2 {
		t.Errorf("%d ports picked, want 2", calls)
	}
	if strings.HasSuffix(e.URL, ":"+strconv.Itoa(taken)) {
		t.Fatalf("Start took the impostor on %s for moto", e.URL)
	}
	if !ownsListener(e.cmd.Process.Pid, mustPort(t, e.URL)) {
		t.Errorf("moto does not hold %s", e.URL)
	}
}

func mustPort(t *testing.T, url string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
