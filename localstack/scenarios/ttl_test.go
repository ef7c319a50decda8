package scenarios

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/naming"
	"github.com/tapctl/tapctl/provision"
)

// Expiry (up --ttl) and its uses; gc's own tests are in gc_test.go.

// oneServiceCatalog is the cheapest platform: the first default service only. The expiry and gc
// tests need whole environments, not many services.
func oneServiceCatalog(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tapctl.yaml")
	must(t, os.WriteFile(path, catalog.Template(catalog.Default()[:1]), 0o644))
	return path
}

// secretExpiry reads the environment's expiry tag from its secret, as AWS holds it.
func secretExpiry(t *testing.T, env string) (time.Time, bool) {
	t.Helper()
	out, err := clients(t).Secrets.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(naming.Names{Env: env}.Secret())})
	must(t, err)
	v, ok := tagMap(out.Tags, func(tag smtypes.Tag) (*string, *string) { return tag.Key, tag.Value })[provision.TagExpires]
	if !ok {
		return time.Time{}, false
	}
	at, err := time.Parse(time.RFC3339, v)
	if err != nil {
		t.Fatalf("%s tag %q is not RFC 3339: %v", provision.TagExpires, v, err)
	}
	return at, true
}

// near fails the test unless got is want, within slack.
func near(t *testing.T, what string, got, want time.Time, slack time.Duration) {
	t.Helper()
	if d := got.Sub(want); d < -slack || d > slack {
		t.Errorf("%s = %s, want %s (±%s)", what, got.Format(time.RFC3339), want.Format(time.RFC3339), slack)
	}
}

// up --ttl tags the environment's secret with its expiry, counted from the run's start; list
// shows it (table and JSON); a later up --ttl extends it with one call; an up without --ttl
// keeps it and changes nothing.
func TestTTLMarksExtendsAndKeepsTheExpiry(t *testing.T) {
	env, dir, config := newEnvName(t), t.TempDir(), oneServiceCatalog(t)
	downAtCleanup(t, dir, env)
	start := time.Now()
	tapctl(t, dir, "--config", config, "up", "--env", env, "--no-wait", "--ttl", "72h").mustSucceed(t)
	first, ok := secretExpiry(t, env)
	if !ok {
		t.Fatalf("up --ttl 72h left no %s tag on the secret", provision.TagExpires)
	}
	near(t, "expiry after up --ttl 72h", first, start.Add(72*time.Hour), time.Minute)

	envs := listEnvs(t, t.TempDir())
	if e := envs[env]; e.Expires == nil || !e.Expires.Equal(first) {
		t.Errorf("list JSON expires = %v, want %s", e.Expires, first)
	}
	table := tapctl(t, t.TempDir(), "list").mustSucceed(t).Stdout
	if !strings.Contains(table, "EXPIRES") || !strings.Contains(table, first.UTC().Format("2006-01-02 15:04 UTC")) {
		t.Errorf("list table lacks the EXPIRES column or %s's expiry:\n%s", env, table)
	}

	start = time.Now()
	extend := tapctl(t, dir, "--config", config, "up", "--env", env, "--no-wait", "--ttl", "96h").mustSucceed(t)
	second, _ := secretExpiry(t, env)
	near(t, "expiry after up --ttl 96h", second, start.Add(96*time.Hour), time.Minute)
	if m := extend.Calls.Mutating(); !equal(m, []string{"Secrets Manager.TagResource"}) {
		t.Errorf("a later up --ttl on a converged environment made %v, want one TagResource", m)
	}

	keep := tapctl(t, dir, "--config", config, "up", "--env", env, "--no-wait").mustSucceed(t)
	if m := keep.Calls.Mutating(); len(m) != 0 {
		t.Errorf("up without --ttl changed %v", m)
	}
	if third, ok := secretExpiry(t, env); !ok || !third.Equal(second) {
		t.Errorf("up without --ttl left the expiry %s (%v), want %s kept", third, ok, second)
	}
}
