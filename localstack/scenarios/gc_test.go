package scenarios

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/tapctl/tapctl/naming"
	"github.com/tapctl/tapctl/provision"
	"github.com/tapctl/tapctl/state"
)

// tapctl gc. Each test makes its environments with the one-service catalog and --no-wait: gc
// needs whole environments, not many services.

// gcRow is one row of gc's report (--output json).
type gcRow struct {
	Env    string `json:"env"`
	Action string `json:"action"`
	Reason string `json:"reason"`
}

// gcRows reads gc's JSON report, by environment.
func gcRows(t *testing.T, r result) map[string]gcRow {
	t.Helper()
	var rows []gcRow
	if err := json.Unmarshal([]byte(r.Stdout), &rows); err != nil {
		t.Fatalf("gc --output json is not JSON: %v\n%s", err, r.Stdout)
	}
	out := map[string]gcRow{}
	for _, row := range rows {
		out[row.Env] = row
	}
	return out
}

// othersThan is every environment the emulator holds now but mine: a gc with a keep list deletes
// every environment not kept, so a test keeps those of other tests.
func othersThan(t *testing.T, mine ...string) []string {
	t.Helper()
	var out []string
	for name := range listEnvs(t, t.TempDir()) {
		if !contains(mine, name) {
			out = append(out, name)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// secretExists reports whether AWS still holds the environment's database secret.
func secretExists(t *testing.T, env string) bool {
	t.Helper()
	_, err := clients(t).Secrets.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(naming.Names{Env: env}.Secret())})
	if err == nil {
		return true
	}
	if !strings.Contains(err.Error(), "ResourceNotFound") {
		t.Fatalf("describing the secret of %s: %v", env, err)
	}
	return false
}

// downS3AtCleanup takes env down at the end of the test when its S3 state is still there.
func downS3AtCleanup(t *testing.T, url string, loc state.S3Location, env, config string) {
	t.Helper()
	t.Cleanup(func() {
		if _, ok := readObject(t, loc.Bucket, loc.Prefix+"/"+env+".json"); !ok && !t.Failed() {
			return
		}
		if r := tapctl(t, t.TempDir(), "--state", url, "--config", config, "down", "--yes", "--env", env); r.Code != 0 {
			t.Errorf("taking %s down at the end of the test: exit %d\n%s", env, r.Code, tail(r.Stderr, 5))
		}
	})
}

// Three environments on one S3 state: one expired, one expired but kept (--keep), one expired
// whose lock another run holds. gc deletes exactly the first: AWS holds nothing of it and its
// state object is gone; the kept one is skipped as kept, the locked one as locked (naming the
// holder), and both are whole.
func TestGCDeletesExactlyTheExpiredUnlockedEnvironment(t *testing.T) {
	url, loc := newStateBucket(t)
	config := oneServiceCatalog(t)
	expired, kept, locked := newEnvName(t), newEnvName(t), newEnvName(t)
	for _, env := range []string{expired, kept, locked} {
		downS3AtCleanup(t, url, loc, env, config)
		// A second is over before up is: each is expired when gc lists it.
		tapctl(t, t.TempDir(), "--state", url, "--config", config, "up", "--env", env, "--no-wait", "--ttl", "1s").mustSucceed(t)
	}
	held, err := state.AcquireIn(context.Background(), s3Backend(t, loc, time.Minute), locked)
	must(t, err)
	defer held.Release()

	args := []string{"--state", url, "--config", config, "gc", "--yes", "--output", "json", "--keep", kept}
	for _, other := range othersThan(t, expired, kept, locked) {
		args = append(args, "--keep", other)
	}
	r := tapctl(t, t.TempDir(), args...)
	t.Logf("gc took %s; its report:\n%s", r.Elapsed.Round(time.Millisecond), r.Stdout)
	if r.Code != 0 {
		t.Fatalf("gc exited %d:\n%s\n%s", r.Code, r.Stdout, tail(r.Stderr, 10))
	}
	rows := gcRows(t, r)
	for env, want := range map[string][2]string{
		expired: {"deleted", "not kept; expired "},
		kept:    {"skipped", "kept"},
		locked:  {"skipped", "locked by "},
	} {
		if row := rows[env]; row.Action != want[0] || !strings.HasPrefix(row.Reason, want[1]) {
			t.Errorf("gc's row for %s: %+v, want %s (%s…)", env, row, want[0], want[1])
		}
	}
	for env, row := range rows {
		if row.Action != "skipped" && env != expired {
			t.Errorf("gc touched %s, which is not this test's expired environment: %+v", env, row)
		}
	}

	if left := leftovers(t, expired); len(left) != 0 {
		t.Errorf("gc left of %s: %v", expired, left)
	}
	if _, ok := readObject(t, loc.Bucket, loc.Prefix+"/"+expired+".json"); ok {
		t.Errorf("gc left the state object of %s", expired)
	}
	for _, env := range []string{kept, locked} {
		if readNetwork(t, env).count() == 0 || !secretExists(t, env) {
			t.Errorf("gc deleted resources of %s", env)
		}
	}
	envs := listEnvs(t, t.TempDir())
	if _, ok := envs[expired]; ok {
		t.Errorf("list still shows %s after gc", expired)
	}
	for _, env := range []string{kept, locked} {
		if e, ok := envs[env]; !ok || e.Resources < 20 {
			t.Errorf("list after gc: %s = %+v, want it whole", env, e)
		}
	}
	// The table a person reads.
	held.Release()
	table := tapctl(t, t.TempDir(), append(append([]string{}, args[:4]...), "gc", "--dry-run", "--keep", kept, "--keep", locked)...).mustSucceed(t).Stdout
	t.Logf("gc --dry-run's table:\n%s", table)
	if !strings.Contains(table, "ENV") || !strings.Contains(table, "ACTION") || !strings.Contains(table, "REASON") {
		t.Errorf("gc's table lacks its header:\n%s", table)
	}
}

// gc --dry-run lists what gc would delete, with or without a keep list, and makes no change.
func TestGCDryRunDeletesNothing(t *testing.T) {
	dir, config := t.TempDir(), oneServiceCatalog(t)
	due, later := newEnvName(t), newEnvName(t)
	downAtCleanup(t, dir, due)
	downAtCleanup(t, dir, later)
	tapctl(t, dir, "--config", config, "up", "--env", due, "--no-wait", "--ttl", "1s").mustSucceed(t)
	tapctl(t, dir, "--config", config, "up", "--env", later, "--no-wait", "--ttl", "72h").mustSucceed(t)

	byExpiry := tapctl(t, t.TempDir(), "--config", config, "gc", "--dry-run", "--output", "json").mustSucceed(t)
	keepArgs := []string{"--config", config, "gc", "--dry-run", "--output", "json", "--keep", due}
	for _, other := range othersThan(t, due, later) {
		keepArgs = append(keepArgs, "--keep", other)
	}
	byKeep := tapctl(t, t.TempDir(), keepArgs...).mustSucceed(t)
	for name, tc := range map[string]struct {
		r    result
		want map[string][2]string
	}{
		"by expiry": {byExpiry, map[string][2]string{due: {"would delete", "expired "}, later: {"skipped", "not expired: expires "}}},
		"by keep":   {byKeep, map[string][2]string{due: {"skipped", "kept"}, later: {"would delete", "not kept"}}},
	} {
		if m := tc.r.Calls.Mutating(); len(m) != 0 {
			t.Errorf("gc --dry-run (%s) made %v", name, m)
		}
		rows := gcRows(t, tc.r)
		for env, want := range tc.want {
			if row := rows[env]; row.Action != want[0] || !strings.HasPrefix(row.Reason, want[1]) {
				t.Errorf("gc --dry-run (%s): %s = %+v, want %s (%s…)", name, env, row, want[0], want[1])
			}
		}
	}
	for _, env := range []string{due, later} {
		if readNetwork(t, env).count() == 0 || !secretExists(t, env) {
			t.Errorf("gc --dry-run deleted resources of %s", env)
		}
	}
}

// setExpiry tags the environment's secret as up --ttl does.
func setExpiry(t *testing.T, env string, at time.Time) {
	t.Helper()
	_, err := clients(t).Secrets.TagResource(context.Background(), &secretsmanager.TagResourceInput{
		SecretId: aws.String(naming.Names{Env: env}.Secret()),
		Tags:     []smtypes.Tag{{Key: aws.String(provision.TagExpires), Value: aws.String(at.UTC().Format(time.RFC3339))}},
	})
	must(t, err)
}

// Without a keep list gc deletes the expired environments, and reads each one's expiry again
// under its lock: an up --ttl that extended it after gc listed it wins. The extension is made
// right after gc's listing (its ListSecrets call), before gc takes the lock.
func TestGCReadsTheExpiryAgainUnderTheLock(t *testing.T) {
	dir, config := t.TempDir(), oneServiceCatalog(t)
	env := newEnvName(t)
	downAtCleanup(t, dir, env)
	tapctl(t, dir, "--config", config, "up", "--env", env, "--no-wait", "--ttl", "1s").mustSucceed(t)

	var once sync.Once
	extend := func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("testExtendAfterListing",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				out, md, err := next.HandleInitialize(ctx, in)
				if middleware.GetOperationName(ctx) == "ListSecrets" {
					once.Do(func() { setExpiry(t, env, time.Now().Add(time.Hour)) })
				}
				return out, md, err
			}), middleware.After)
	}
	r := tapctlWith(t, t.TempDir(), []func(*middleware.Stack) error{extend}, "--config", config, "gc", "--yes", "--output", "json").mustSucceed(t)
	if row := gcRows(t, r)[env]; row.Action != "skipped" || !strings.HasPrefix(row.Reason, "not expired: extended to ") {
		t.Errorf("gc's row for %s, extended after the listing: %+v, want skipped (not expired: extended to …)", env, row)
	}
	if !secretExists(t, env) || readNetwork(t, env).count() == 0 {
		t.Fatalf("gc deleted resources of %s, whose expiry was extended", env)
	}

	setExpiry(t, env, time.Now().Add(-time.Minute))
	r = tapctl(t, t.TempDir(), "--config", config, "gc", "--yes", "--output", "json").mustSucceed(t)
	if row := gcRows(t, r)[env]; row.Action != "deleted" || !strings.HasPrefix(row.Reason, "expired ") {
		t.Errorf("gc's row for %s, expired: %+v, want deleted (expired …)", env, row)
	}
	if left := leftovers(t, env); len(left) != 0 {
		t.Errorf("gc left of %s: %v", env, left)
	}
}
