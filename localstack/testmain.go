package localstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	shared    string    // the endpoint this test binary's tests use: a strict proxy (strict.go)
	bare      string    // the emulator itself, behind that proxy
	sharedEmu *Emulator // the emulator Main started, nil with TAPCTL_TEST_ENDPOINT
)

// serveStrict puts the shared strict proxy in front of upstream, for every test of the binary.
func serveStrict(upstream string) (func(), error) {
	p, err := StartProxy(upstream)
	if err != nil {
		return nil, err
	}
	shared, bare = p.URL, upstream
	return func() { p.Close() }, nil
}

// Main runs a test binary's tests against one emulator: TAPCTL_TEST_ENDPOINT when set, else a
// moto it starts before m.Run and stops after. AWS credentials are fake and the developer's
// profile and config files are never read. Returns the exit code for os.Exit.
func Main(m *testing.M) int {
	endpoint := strings.TrimRight(os.Getenv(EndpointVariable), "/")
	cleanup, err := isolateAWSEnv(endpoint != "")
	if err != nil {
		fmt.Fprintf(os.Stderr, "localstack: cannot isolate the AWS configuration: %v\n", err)
		return 1
	}
	defer cleanup()

	if endpoint != "" {
		stop, err := serveStrict(endpoint)
		if err != nil {
			fmt.Fprintf(os.Stderr, "localstack: cannot start the strict proxy: %v\n", err)
			return 1
		}
		defer stop()
		return m.Run()
	}

	// Ctrl-C or SIGTERM: stop the emulator (it runs in its own process group, out of reach of
	// the terminal's signal), then die of the same signal.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		if !signal.Ignored(sig) { // a background job ignores SIGINT: keep it so
			signal.Notify(sigs, sig)
		}
	}
	defer signal.Stop(sigs)
	var (
		mu      sync.Mutex
		started = make(chan struct{})
	)
	go func() {
		sig := <-sigs
		cancel()
		<-started
		mu.Lock()
		sharedEmu.Stop()
		mu.Unlock()
		signal.Reset(sig)
		syscall.Kill(os.Getpid(), sig.(syscall.Signal))
		time.Sleep(time.Second) // the signal's default action ends the process; if not:
		os.Exit(1)
	}()

	e, err := Start(ctx)
	mu.Lock()
	sharedEmu = e
	mu.Unlock()
	close(started)
	if err != nil {
		fmt.Fprintf(os.Stderr, "localstack: cannot start the emulator (moto %s): %s\n", MotoVersion, oneLine(err))
		return 1
	}
	stop, err := serveStrict(e.URL)
	if err != nil {
		fmt.Fprintf(os.Stderr, "localstack: cannot start the strict proxy: %v\n", err)
		e.Stop()
		return 1
	}
	code := m.Run()
	stop()

	keep := code != 0
	if err := e.stop(keep); err != nil {
		fmt.Fprintf(os.Stderr, "localstack: %v\n", err)
	}
	if keep {
		fmt.Fprintf(os.Stderr, "localstack: emulator log kept at %s\n", e.logPath)
	}
	return code
}

// oneLine states a start failure on one line, pointing at the log for the details.
func oneLine(err error) string {
	var se *startError
	if errors.As(err, &se) {
		if se.logPath != "" {
			return se.msg + " (log: " + se.logPath + ")"
		}
		return se.msg
	}
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// isolateAWSEnv sets fake credentials and a region (kept as they are when an external endpoint
// is used and they are already set), drops the profile, and points the config and credential
// files at an empty file so nothing of the developer's real AWS setup is read.
func isolateAWSEnv(keepSet bool) (cleanup func(), err error) {
	haveCreds := os.Getenv("AWS_ACCESS_KEY_ID") != "" && os.Getenv("AWS_SECRET_ACCESS_KEY") != ""
	if !keepSet || !haveCreds {
		os.Setenv("AWS_ACCESS_KEY_ID", "testing")
		os.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
		os.Unsetenv("AWS_SESSION_TOKEN")
	}
	if !keepSet || os.Getenv("AWS_REGION") == "" {
		os.Setenv("AWS_REGION", "us-east-1")
	}
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, k := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"} {
		os.Unsetenv(k)
	}
	empty, err := os.CreateTemp("", "tapctl-aws-empty-")
	if err != nil {
		return nil, err
	}
	empty.Close()
	os.Setenv("AWS_CONFIG_FILE", empty.Name())
	os.Setenv("AWS_SHARED_CREDENTIALS_FILE", empty.Name())
	return func() { os.Remove(empty.Name()) }, nil
}

// BareEndpoint is the emulator itself, without the strict layer: for the proxies tests start
// (which are strict themselves unless switched off) and for tests that need moto's own answers.
func BareEndpoint(t testing.TB) string {
	t.Helper()
	Endpoint(t)
	return bare
}

// Endpoint is the URL ("http://127.0.0.1:PORT") a test talks to: a strict proxy (strict.go) in
// front of the emulator. It fails the test when the package's TestMain does not call Main, or
// when the emulator has died.
func Endpoint(t testing.TB) string {
	t.Helper()
	if shared == "" {
		t.Fatal("localstack: no emulator: the package needs func TestMain(m *testing.M) { os.Exit(localstack.Main(m)) }")
	}
	if sharedEmu != nil && sharedEmu.exited() {
		t.Fatalf("localstack: the emulator at %s has exited (%v); last lines of %s:\n%s",
			shared, sharedEmu.cmd.ProcessState, sharedEmu.logPath, sharedEmu.logTail())
	}
	return shared
}
