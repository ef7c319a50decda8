package scenarios

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"

	"github.com/tapctl/tapctl/localstack"
	"github.com/tapctl/tapctl/state"
)

// countingProxy passes every request to upstream and counts them: what one process sent.
type countingProxy struct {
	URL      string
	requests atomic.Int64
	server   *http.Server
}

func startCountingProxy(t *testing.T, upstream string) *countingProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	must(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	p := &countingProxy{URL: "http://" + l.Addr().String()}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.server = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		rp.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go p.server.Serve(l)
	t.Cleanup(func() { p.server.Close() })
	return p
}

// withoutS3 is the mutating calls of a run other than its state's own (lock, state writes).
func withoutS3(calls []string) []string {
	var out []string
	for _, c := range calls {
		if !strings.HasPrefix(c, "S3.") {
			out = append(out, c)
		}
	}
	return out
}

// Two runners with their own empty state directories run up on one environment whose state is
// on S3, at the same instant: one runs, the other is refused with one line naming the holder,
// within a second and a few calls; the environment has exactly one of everything.
func TestTwoUpsWithOneS3StateOneRunsTheOtherIsRefused(t *testing.T) {
	url, loc := newStateBucket(t)
	env := newEnvName(t)
	type outcome struct {
		code     int
		stderr   string
		elapsed  time.Duration
		requests int64
	}
	// The emulator loads each service's backend on its first call (EC2's takes about a second,
	// and holds every other call meanwhile): loaded now, they do not count against the refusal.
	_, err := clients(t).EC2.DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{})
	must(t, err)
	_, err = clients(t).STS.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	must(t, err)
	outcomes := make(chan outcome, 2)
	for i := 0; i < 2; i++ {
		counter := startCountingProxy(t, localstack.Endpoint(t))
		c := exec.Command(binary(t), "--endpoint", counter.URL, "--state-dir", t.TempDir(), "--state", url, "--log-format", "json", "up", "--env", env, "--no-wait")
		c.Env = os.Environ()
		var stderr bytes.Buffer
		c.Stderr = &stderr
		start := time.Now()
		must(t, c.Start())
		go func() {
			err := c.Wait()
			o := outcome{stderr: stderr.String(), elapsed: time.Since(start), requests: counter.requests.Load()}
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				o.code = exit.ExitCode()
			} else if err != nil {
				o.code = -1
			}
			outcomes <- o
		}()
	}
	a, b := <-outcomes, <-outcomes
	if a.code == 0 {
		a, b = b, a
	}
	refused, ran := a, b
	if ran.code != 0 {
		t.Fatalf("neither up succeeded: exits %d and %d\n%s\n%s", refused.code, ran.code, tail(refused.stderr, 3), tail(ran.stderr, 3))
	}
	t.Logf("the refused up exited %d after %s and %d requests (the other ran for %s, %d requests)",
		refused.code, refused.elapsed.Round(time.Millisecond), refused.requests, ran.elapsed.Round(time.Millisecond), ran.requests)
	msg := strings.TrimSpace(refused.stderr)
	if refused.code != 1 || strings.Contains(msg, "\n") || !strings.Contains(msg, "is in use by another tapctl (") || !strings.Contains(msg, "since ") {
		t.Errorf("refused up: exit %d, stderr %q; want exit 1 and one line naming the lock's holder", refused.code, msg)
	}
	if refused.requests > 4 {
		t.Errorf("the refused up sent %d requests, want at most 4 (credentials, lock put, lock read)", refused.requests)
	}
	if _, err := state.OpenIn(context.Background(), s3Backend(t, loc, 0), env); err != nil {
		t.Fatalf("state after two ups at once: %v", err)
	}
	if _, held := readObject(t, loc.Bucket, loc.Prefix+"/"+env+".lock"); held {
		t.Error("the lock outlived the run that held it")
	}
	assertInventory(t, stateDirOf(t, loc, env), env)
	// A third runner, with yet another empty directory, finds everything through the S3 state.
	if m := withoutS3(tapctl(t, t.TempDir(), "--state", url, "up", "--env", env, "--no-wait").mustSucceed(t).Calls.Mutating()); len(m) != 0 {
		t.Errorf("up after the race still changed %v", m)
	}
	tapctl(t, t.TempDir(), "--state", url, "down", "--yes", "--env", env).mustSucceed(t)
	if _, ok := readObject(t, loc.Bucket, loc.Prefix+"/"+env+".json"); ok {
		t.Error("down left the state object")
	}
}

// upAfterLease runs up until the lapsed lock of a killed run is taken over: refusals at the
// lock are tried again (each costs three calls) for at most wait.
func upAfterLease(t *testing.T, endpoint, url, lease, env string, wait time.Duration) result {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		r := tapctlAt(t, endpoint, t.TempDir(), nil, "--state", url, "--lock-lease", lease, "up", "--env", env, "--no-wait")
		if r.Code == 0 || !strings.Contains(r.Stderr, "is in use by another tapctl") || time.Now().After(deadline) {
			return r
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// A holder SIGKILLed in the middle of up keeps the environment until its lease ends: a run
// before that is refused naming it; the first run after takes the lock over and converges with
// exactly one of everything, and nothing the killed run made lives on outside the inventory.
func TestKilledS3HolderIsTakenOverAfterItsLease(t *testing.T) {
	url, loc := newStateBucket(t)
	p, again, env := startProxy(t), startProxy(t), newEnvName(t)
	// Long enough for the emulator, which stalls every call for a second or more while it loads
	// a service's backend, to answer the renewals in time.
	const lease = "10s"
	killed := runKilledAfter(t, p, 12, t.TempDir(), "--state", url, "--lock-lease", lease, "up", "--env", env, "--no-wait")
	defer logJournalOnFailure(t, killed, p, again)
	killedAt := time.Now()
	if _, err := state.OpenIn(context.Background(), s3Backend(t, loc, 0), env); err != nil {
		t.Errorf("state after the kill: %v", err)
	}
	early := tapctl(t, t.TempDir(), "--state", url, "up", "--env", env, "--no-wait")
	if early.Code != 1 || !strings.Contains(early.Stderr, "is in use by another tapctl (") {
		t.Fatalf("up within the dead holder's lease: exit %d, %s", early.Code, early.Stderr)
	}
	r := upAfterLease(t, again.URL, url, lease, env, 30*time.Second).mustSucceed(t)
	t.Logf("taken over %s after the kill", time.Since(killedAt).Round(100*time.Millisecond))
	if !strings.Contains(r.Stderr, "took over the lock of") {
		t.Errorf("the run that took over did not say so:\n%s", tail(r.Stderr, 5))
	}
	assertInventory(t, stateDirOf(t, loc, env), env)
	assertCreatedAreTheInventory(t, append(p.Journal(), again.Journal()...), env)
	if t.Failed() {
		return
	}
	tapctl(t, t.TempDir(), "--state", url, "down", "--yes", "--env", env).mustSucceed(t)
}

// racingS3 lines two takers up: neither writes the lock before both have read it, and their
// conditional writes reach S3 one after the other (the order is theirs).
type racingS3 struct {
	state.S3API
	key   string
	read  bool
	reads *sync.WaitGroup
	puts  *sync.Mutex
}

func (r *racingS3) GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	out, err := r.S3API.GetObject(ctx, in, optFns...)
	if aws.ToString(in.Key) == r.key && !r.read {
		r.read = true
		r.reads.Done()
		r.reads.Wait()
	}
	return out, err
}

func (r *racingS3) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if aws.ToString(in.Key) == r.key {
		r.puts.Lock()
		defer r.puts.Unlock()
	}
	return r.S3API.PutObject(ctx, in, optFns...)
}

// Two takers read the same lapsed lock before either writes: on the emulator's S3 exactly one
// replaces it, and the other is refused naming the winner.
func TestTwoTakersOfALapsedS3LockOneWins(t *testing.T) {
	_, loc := newStateBucket(t)
	env, client := newEnvName(t), s3At(t, localstack.Endpoint(t))
	key := loc.Prefix + "/" + env + ".lock"
	dead := fmt.Sprintf(`{"pid":4242,"host":"gone","holder":"ci@gone","started":%q,"token":"dead","leaseSeconds":1,"renewed":%q}`,
		time.Now().UTC().Format(time.RFC3339), time.Now().UTC().Format(time.RFC3339))
	_, err := client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(key), Body: strings.NewReader(dead)})
	must(t, err)
	time.Sleep(2100 * time.Millisecond) // a 1 s lease, on S3's clock of whole seconds

	var reads sync.WaitGroup
	var puts sync.Mutex
	reads.Add(2)
	type outcome struct {
		lock *state.Lock
		err  error
	}
	outcomes := make(chan outcome, 2)
	for range 2 {
		racer := &racingS3{S3API: s3At(t, localstack.Endpoint(t)), key: key, reads: &reads, puts: &puts}
		go func() {
			l, err := state.AcquireIn(context.Background(), state.S3(racer, loc, state.S3Options{Lease: time.Minute}), env)
			outcomes <- outcome{l, err}
		}()
	}
	a, b := <-outcomes, <-outcomes
	if a.err != nil {
		a, b = b, a
	}
	var locked *state.LockedError
	if a.err != nil || !errors.As(b.err, &locked) {
		t.Fatalf("outcomes %v and %v; want one lock and one refusal", a.err, b.err)
	}
	defer a.lock.Release()
	if prev, ok := a.lock.Replaced(); !ok || prev.Holder != "ci@gone" {
		t.Errorf("the winner replaced %+v, %v; want the dead holder's lock", prev, ok)
	}
	if locked.Holder.Holder == "ci@gone" || !locked.Holder.Expires.After(time.Now()) {
		t.Errorf("the loser was refused by %+v, want the winner's live lock", locked.Holder)
	}
	t.Logf("the loser: %v", b.err)
}

// A state write that meets another's since it read the state is refused with one line, and
// nothing is lost: the other's state stays the object, this run's is kept beside it.
func TestConflictingS3StateWriteIsRefusedAndBothSidesKept(t *testing.T) {
	url, loc := newStateBucket(t)
	env := newEnvName(t)
	key := loc.Prefix + "/" + env + ".json"
	theirs := fmt.Sprintf(`{"schemaVersion":1,"env":%q,"settings":{"writtenBy":"the other run"},"resources":{}}`+"\n", env)
	var once sync.Once
	// Right before tapctl's first state write, another run writes the state.
	interfere := func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("testInterfere",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if put, ok := in.Parameters.(*s3.PutObjectInput); ok && aws.ToString(put.Key) == key {
					once.Do(func() {
						_, err := s3At(t, localstack.Endpoint(t)).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(key), Body: strings.NewReader(theirs)})
						must(t, err)
					})
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	}
	r := tapctlWith(t, t.TempDir(), []func(*middleware.Stack) error{interfere}, "--state", url, "up", "--env", env, "--no-wait")
	msg := strings.TrimSpace(r.Stderr)
	if r.Code != 1 || strings.Contains(msg, "\n") || !strings.Contains(msg, "was written by another run or by hand since this tapctl read it") {
		t.Fatalf("up over a concurrent write: exit %d, stderr %q; want one line refusing it", r.Code, msg)
	}
	if got, _ := readObject(t, loc.Bucket, key); got != theirs {
		t.Errorf("the other run's state was changed:\n%s", got)
	}
	aside := regexp.MustCompile(`s3://` + regexp.QuoteMeta(loc.Bucket) + `/(\S+\.conflict-[0-9a-f]+\.json)`).FindStringSubmatch(msg)
	if aside == nil {
		t.Fatalf("the refusal does not say where this run's state is kept: %s", msg)
	}
	mine, ok := readObject(t, loc.Bucket, aside[1])
	if !ok || !strings.Contains(mine, `"region": "us-east-1"`) {
		t.Errorf("this run's state is not kept at %s: %q", aside[1], mine)
	}
	if m := withoutS3(r.Calls.Mutating()); len(m) != 0 {
		t.Errorf("the refused run changed AWS: %v", m)
	}
	if _, held := readObject(t, loc.Bucket, loc.Prefix+"/"+env+".lock"); held {
		t.Error("the refused run left its lock")
	}
}

// tapctl unlock breaks a lock and prints whose it was; the run that held it notices at its next
// renewal. Without a terminal and without --yes it refuses before any call.
func TestUnlockBreaksAnS3LockAndNamesItsHolder(t *testing.T) {
	url, loc := newStateBucket(t)
	env := newEnvName(t)
	held, err := state.AcquireIn(context.Background(), s3Backend(t, loc, 2*time.Second), env)
	must(t, err)
	defer held.Release()

	assertRefused(t, tapctl(t, t.TempDir(), "--state", url, "unlock", "--env", env), "pass --yes")
	r := tapctl(t, t.TempDir(), "--state", url, "unlock", "--env", env, "--yes").mustSucceed(t)
	host, _ := os.Hostname()
	want := fmt.Sprintf("broke the lock of environment %s: it was held by ", env)
	if !strings.HasPrefix(r.Stdout, want) || !strings.Contains(r.Stdout, "@"+host+fmt.Sprintf(" (pid %d), since ", os.Getpid())) {
		t.Errorf("unlock said %q", r.Stdout)
	}
	select {
	case <-held.Lost():
		t.Logf("the holder noticed: %v", held.LostErr())
	case <-time.After(5 * time.Second):
		t.Fatal("the holder did not notice its lock was broken")
	}
	if r := tapctl(t, t.TempDir(), "--state", url, "unlock", "--env", env, "--yes").mustSucceed(t); !strings.Contains(r.Stdout, "is not locked") {
		t.Errorf("unlock of a free environment said %q", r.Stdout)
	}
}

// A sample of the crash sweep with the state on S3: an up killed right after its first, middle
// or last mutating call is finished by the next up, once the dead run's lease has lapsed:
// exactly the environment, one of everything, nothing the killed run made left outside it.
func TestKilledUpWithS3StateIsFinishedByTheNextUp(t *testing.T) {
	total, _ := countMutating(t)
	const lease = "10s" // see TestKilledS3HolderIsTakenOverAfterItsLease
	for _, k := range []int{1, total / 2, total} {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			t.Parallel()
			url, loc := newStateBucket(t)
			p, again, env := startProxy(t), startProxy(t), newEnvName(t)
			killed := runKilledAfter(t, p, k, t.TempDir(), "--state", url, "--lock-lease", lease, "up", "--env", env, "--no-wait")
			defer logJournalOnFailure(t, killed, p, again)
			if _, err := state.OpenIn(context.Background(), s3Backend(t, loc, 0), env); err != nil {
				t.Errorf("state after the kill: %v", err)
			}
			upAfterLease(t, again.URL, url, lease, env, 30*time.Second).mustSucceed(t)
			assertInventory(t, stateDirOf(t, loc, env), env)
			assertCreatedAreTheInventory(t, append(p.Journal(), again.Journal()...), env)
			if t.Failed() {
				return
			}
			tapctl(t, t.TempDir(), "--state", url, "down", "--yes", "--env", env).mustSucceed(t)
		})
	}
}

// An up whose lock is broken while it runs stops at its next renewal, with one line saying so,
// instead of working beside the run that may take the environment next.
func TestUpWhoseS3LockIsBrokenStopsWithOneLine(t *testing.T) {
	url, loc := newStateBucket(t)
	env := newEnvName(t)
	var once sync.Once
	// At the run's first CreateVpc the lock is broken (tapctl unlock elsewhere); the call then
	// waits for the run to notice, which cancels it.
	breakAtFirstCreate := func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("testBreakLock",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if middleware.GetOperationName(ctx) != "CreateVpc" {
					return next.HandleInitialize(ctx, in)
				}
				broke := false
				once.Do(func() {
					_, found, err := state.Break(context.Background(), s3Backend(t, loc, 0), env)
					must(t, err)
					broke = found
				})
				if broke {
					<-ctx.Done()
					return middleware.InitializeOutput{}, middleware.Metadata{}, ctx.Err()
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	}
	r := tapctlWith(t, t.TempDir(), []func(*middleware.Stack) error{breakAtFirstCreate}, "--state", url, "--lock-lease", "8s", "up", "--env", env, "--no-wait")
	msg := strings.TrimSpace(r.Stderr[strings.LastIndex(strings.TrimSpace(r.Stderr), "\n")+1:])
	if r.Code != 1 || !strings.HasPrefix(msg, "tapctl: the lock "+url+"/"+env+".lock was broken (tapctl unlock); this run stopped after ") {
		t.Errorf("exit %d, last line %q; want exit 1 and the line that says the lock was broken", r.Code, msg)
	}
	t.Logf("the run ended with: %s", msg)
	if strings.Count(r.Stderr, "tapctl: ") != 1 {
		t.Errorf("more than one closing line:\n%s", tail(r.Stderr, 5))
	}
	tapctl(t, t.TempDir(), "--state", url, "down", "--yes", "--env", env).mustSucceed(t)
}
