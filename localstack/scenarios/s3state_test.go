package scenarios

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/localstack"
	"github.com/tapctl/tapctl/state"
)

// State on S3 (--state s3://BUCKET/PREFIX), against the emulator's S3 behind the strict proxy.

// s3At is the state bucket's client at endpoint, configured as tapctl configures it.
func s3At(t testing.TB, endpoint string) *s3.Client {
	t.Helper()
	cfg, err := cloud.Load(context.Background(), cloud.Options{Region: "us-east-1", Endpoint: endpoint})
	must(t, err)
	return cloud.NewS3(cfg)
}

// newStateBucket makes a bucket of its own for a test and returns its s3://BUCKET/ci location.
func newStateBucket(t *testing.T) (string, state.S3Location) {
	t.Helper()
	loc := state.S3Location{Bucket: "tapctl-state-" + newEnvName(t), Prefix: "ci"}
	_, err := s3At(t, localstack.Endpoint(t)).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(loc.Bucket)})
	must(t, err)
	return loc.String(), loc
}

// s3Backend is the test's own view of an S3 state, as tapctl opens it.
func s3Backend(t testing.TB, loc state.S3Location, lease time.Duration) state.Backend {
	return state.S3(s3At(t, localstack.Endpoint(t)), loc, state.S3Options{Lease: lease})
}

// readObject returns an object's content, or false when there is none.
func readObject(t testing.TB, bucket, key string) (string, bool) {
	t.Helper()
	out, err := s3At(t, localstack.Endpoint(t)).GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	var missing *s3types.NoSuchKey
	if errors.As(err, &missing) {
		return "", false
	}
	must(t, err)
	defer out.Body.Close()
	raw, err := io.ReadAll(out.Body)
	must(t, err)
	return string(raw), true
}

// state init makes a bucket with versioning, default encryption and every public access
// blocked, as S3 reads them back; it accepts such a bucket again, and refuses one without.
func TestStateInitMakesAFitBucketAndRefusesAnUnfitOne(t *testing.T) {
	ctx, client := context.Background(), s3At(t, localstack.Endpoint(t))
	bucket := "tapctl-init-" + newEnvName(t)
	r := tapctl(t, t.TempDir(), "state", "init", "s3://"+bucket).mustSucceed(t)
	if !strings.Contains(r.Stdout, "created bucket "+bucket) || !strings.Contains(r.Stdout, "--state s3://"+bucket+"/tapctl") {
		t.Errorf("state init said:\n%s", r.Stdout)
	}
	ver, err := client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)})
	must(t, err)
	if ver.Status != s3types.BucketVersioningStatusEnabled {
		t.Errorf("versioning %q", ver.Status)
	}
	enc, err := client.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String(bucket)})
	must(t, err)
	if rules := enc.ServerSideEncryptionConfiguration.Rules; len(rules) != 1 || rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != s3types.ServerSideEncryptionAes256 {
		t.Errorf("encryption %+v", rules)
	}
	pab, err := client.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(bucket)})
	must(t, err)
	if c := pab.PublicAccessBlockConfiguration; !aws.ToBool(c.BlockPublicAcls) || !aws.ToBool(c.IgnorePublicAcls) || !aws.ToBool(c.BlockPublicPolicy) || !aws.ToBool(c.RestrictPublicBuckets) {
		t.Errorf("public access block %+v", c)
	}
	tags, err := client.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
	must(t, err)
	if len(tags.TagSet) != 1 || aws.ToString(tags.TagSet[0].Key) != "ManagedBy" || aws.ToString(tags.TagSet[0].Value) != "tapctl" {
		t.Errorf("tags %+v", tags.TagSet)
	}
	again := tapctl(t, t.TempDir(), "state", "init", "s3://"+bucket).mustSucceed(t)
	if !strings.Contains(again.Stdout, "is fit for tapctl's state") || again.Calls.Mutating() != nil {
		t.Errorf("init of a fit bucket: %s, mutating %v", again.Stdout, again.Calls.Mutating())
	}

	plain := "tapctl-plain-" + newEnvName(t)
	_, err = client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(plain)})
	must(t, err)
	refused := tapctl(t, t.TempDir(), "state", "init", "s3://"+plain)
	oneLineError(t, refused.Code, refused.Stderr, "bucket "+plain+" exists and is not suitable for tapctl's state: versioning is not enabled")
	if mutating := refused.Calls.Mutating(); len(mutating) != 0 {
		t.Errorf("init changed a bucket it did not make: %v", mutating)
	}
	bad := tapctl(t, t.TempDir(), "state", "init", "s3://Not_A_Bucket")
	assertRefused(t, bad, "is not a bucket name")
	if bad.Code != 2 {
		t.Errorf("bad bucket name: exit %d, want 2", bad.Code)
	}
}

// A run that meets a held lock is refused with one line naming the holder and the time since it
// holds it, after a few calls: the credentials check, the conditional put, the read.
func TestS3HeldLockIsRefusedInOneLineAfterAFewCalls(t *testing.T) {
	url, loc := newStateBucket(t)
	env, backend := newEnvName(t), s3Backend(t, loc, time.Minute)
	held, err := state.AcquireIn(context.Background(), backend, env)
	must(t, err)
	defer held.Release()
	for _, command := range []string{"up", "down"} {
		r := tapctl(t, t.TempDir(), append([]string{"--state", url}, append(commandArgs(command), "--env", env)...)...)
		m, rd := r.Calls.Totals()
		t.Logf("%s refused after %d calls (%d mutating) in %s", command, m+rd, m, r.Elapsed.Round(time.Millisecond))
		msg := strings.TrimSpace(r.Stderr)
		if r.Code != 1 || strings.Contains(msg, "\n") {
			t.Fatalf("%s: exit %d, stderr %q; want exit 1 and one line", command, r.Code, msg)
		}
		for _, want := range []string{"is in use by another tapctl", "@", "since ", "leased until", url + "/" + env + ".lock"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: the refusal lacks %q: %s", command, want, msg)
			}
		}
		if m+rd > 3 {
			t.Errorf("%s: the refused run made %d calls, want at most 3 (%v)", command, m+rd, r.Calls.Snapshot())
		}
	}
	if _, ok := readObject(t, loc.Bucket, loc.Prefix+"/"+env+".json"); ok {
		t.Error("a refused run wrote the state")
	}
}

// stateDirOf copies an environment's S3 state into a new directory, for the assertions that
// read a local state file (assertInventory).
func stateDirOf(t *testing.T, loc state.S3Location, env string) string {
	t.Helper()
	raw, ok := readObject(t, loc.Bucket, loc.Prefix+"/"+env+".json")
	if !ok {
		t.Fatalf("no state object for %s in %s", env, loc)
	}
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, env+".json"), []byte(raw), 0o600))
	return dir
}
