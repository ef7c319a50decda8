package scenarios

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tapctl/tapctl/naming"
	"github.com/tapctl/tapctl/state"
)

// foreign are resources another team made with the names tapctl would give environment env.
type foreign struct {
	secretARN, secretValue string
	repository, logGroup   string
}

var otherTeam = map[string]string{"Team": "payments", "ManagedBy": "terraform"}

func makeForeign(t *testing.T, env string) foreign {
	t.Helper()
	ctx, c, n := context.Background(), clients(t), naming.Names{Env: env}
	f := foreign{secretValue: `{"username":"their-user","password":"their-password"}`, repository: n.Repository("payment"), logGroup: n.LogGroup("order")}
	var smTags []smtypes.Tag
	var ecrTags []ecrtypes.Tag
	for k, v := range otherTeam {
		smTags = append(smTags, smtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
		ecrTags = append(ecrTags, ecrtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	sec, err := c.Secrets.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(n.Secret()), SecretString: aws.String(f.secretValue), Tags: smTags})
	must(t, err)
	f.secretARN = aws.ToString(sec.ARN)
	_, err = c.ECR.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(f.repository), Tags: ecrTags})
	must(t, err)
	_, err = c.Logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(f.logGroup), Tags: otherTeam})
	must(t, err)
	t.Cleanup(func() {
		c.Secrets.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(f.secretARN), ForceDeleteWithoutRecovery: aws.Bool(true)})
		c.ECR.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String(f.repository), Force: true})
		c.Logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(f.logGroup)})
	})
	return f
}

// assertUntouched reads the foreign resources back: still there, same tags, same secret value.
func (f foreign) assertUntouched(t *testing.T) {
	t.Helper()
	ctx, c := context.Background(), clients(t)
	val, err := c.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(f.secretARN)})
	if err != nil {
		t.Fatalf("the foreign secret is gone: %v", err)
	}
	if aws.ToString(val.SecretString) != f.secretValue {
		t.Errorf("the foreign secret's value changed")
	}
	sec, err := c.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(f.secretARN)})
	must(t, err)
	if got := tagMap(sec.Tags, func(t smtypes.Tag) (*string, *string) { return t.Key, t.Value }); !sameMap(got, otherTeam) || sec.DeletedDate != nil {
		t.Errorf("the foreign secret has tags %v, deleted %v", got, sec.DeletedDate)
	}
	repos, err := c.ECR.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{f.repository}})
	if err != nil {
		t.Fatalf("the foreign repository is gone: %v", err)
	}
	rt, err := c.ECR.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: repos.Repositories[0].RepositoryArn})
	must(t, err)
	if got := tagMap(rt.Tags, func(t ecrtypes.Tag) (*string, *string) { return t.Key, t.Value }); !sameMap(got, otherTeam) {
		t.Errorf("the foreign repository has tags %v", got)
	}
	lgs, err := c.Logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(f.logGroup)})
	must(t, err)
	if len(lgs.LogGroups) != 1 || lgs.LogGroups[0].KmsKeyId != nil || lgs.LogGroups[0].RetentionInDays != nil {
		t.Fatalf("the foreign log group is gone or changed: %+v", lgs.LogGroups)
	}
	lt, err := c.Logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: lgs.LogGroups[0].LogGroupArn})
	must(t, err)
	if !sameMap(lt.Tags, otherTeam) {
		t.Errorf("the foreign log group has tags %v", lt.Tags)
	}
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A secret, an ECR repository and a log group another team made with environment E's names:
// up and plan stop before any change with one line per resource (its owner tags and what to
// do); down leaves them alone and says so.
func TestForeignResourcesWithTheEnvironmentsNamesAreNeverTouched(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	f := makeForeign(t, env)

	for _, command := range [][]string{{"up", "--no-wait"}, {"plan"}} {
		r := tapctl(t, dir, append(command, "--env", env)...)
		if r.Code != 1 {
			t.Errorf("%s exit %d, want 1:\n%s", command[0], r.Code, r.Stderr)
		}
		lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
		var refusals []string
		for _, l := range lines {
			if strings.HasPrefix(l, "tapctl: ") {
				refusals = append(refusals, l)
			}
		}
		for _, want := range []string{"secret " + naming.Names{Env: env}.Secret(), "ECR repository " + f.repository, "log group " + f.logGroup} {
			n := 0
			for _, l := range refusals {
				if strings.Contains(l, want+" exists and is not tapctl's environment "+env) {
					n++
					for _, part := range []string{"ManagedBy=terraform", "choose another --env", "tag it ManagedBy=tapctl Environment=" + env} {
						if !strings.Contains(l, part) {
							t.Errorf("%s: the line about %s lacks %q: %s", command[0], want, part, l)
						}
					}
				}
			}
			if n != 1 {
				t.Errorf("%s: %d lines about %s, want 1:\n%s", command[0], n, want, r.Stderr)
			}
		}
		if len(refusals) != 3 {
			t.Errorf("%s: %d error lines, want 3 (one per foreign resource):\n%s", command[0], len(refusals), strings.Join(refusals, "\n"))
		}
		if m := r.Calls.Mutating(); len(m) != 0 {
			t.Errorf("%s made mutating calls before refusing: %v", command[0], m)
		}
		f.assertUntouched(t)
	}
	if _, err := os.Stat(filepath.Join(dir, env+".json")); err == nil {
		if st, err := state.Open(dir, env); err == nil && len(st.Keys()) != 0 {
			t.Errorf("the refused up recorded resources: %v", st.Keys())
		}
	}

	down := tapctl(t, dir, "down", "--yes", "--env", env).mustSucceed(t)
	f.assertUntouched(t)
	for _, want := range []string{"leaving secret " + naming.Names{Env: env}.Secret() + " alone", "leaving ECR repository " + f.repository + " alone", "leaving log group " + f.logGroup + " alone"} {
		if !strings.Contains(down.Stderr, want) {
			t.Errorf("down does not say %q:\n%s", want, down.Stderr)
		}
	}
	for _, call := range down.Calls.Mutating() {
		if strings.Contains(call, "Secrets Manager") || strings.Contains(call, "ECR.") || strings.Contains(call, "CloudWatch Logs.") {
			t.Errorf("down called %s", call)
		}
	}
}

// A state file copied from environment A to environment B: down of B refuses before it deletes
// anything, and A is exactly as it was.
func TestStateFileCopiedFromAnotherEnvironmentDeletesNothing(t *testing.T) {
	a, b, dir := newEnvName(t), newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, a) // b has only a copy of a's state file, which its down refuses
	tapctl(t, dir, "up", "--env", a, "--no-wait").mustSucceed(t)
	raw, err := os.ReadFile(filepath.Join(dir, a+".json"))
	must(t, err)
	var doc map[string]any
	must(t, json.Unmarshal(raw, &doc))
	doc["env"] = b // as a hand edit or a mixed-up copy would leave it
	copied, err := json.Marshal(doc)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, b+".json"), copied, 0o600))

	for _, command := range [][]string{{"down", "--yes"}, {"up", "--no-wait"}, {"plan"}} {
		r := tapctl(t, dir, append(command, "--env", b)...)
		if r.Code == 0 {
			t.Fatalf("%s of %s with %s's state file succeeded", command[0], b, a)
		}
		if m := r.Calls.Mutating(); len(m) != 0 {
			t.Errorf("%s of %s made mutating calls: %v", command[0], b, m)
		}
		for _, want := range []string{"the state file of " + b + " names VPC", "Environment=" + a, "tapctl will not change or delete it"} {
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("%s of %s: stderr lacks %q:\n%s", command[0], b, want, r.Stderr)
			}
		}
	}
	assertInventory(t, dir, a)
}

// A state file ID of another account or region is refused before anything changes; a state file
// written for another account is refused by every command that changes anything.
func TestStateFileOfAnotherAccountOrRegionIsRefused(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	st, err := state.Open(dir, env)
	must(t, err)
	must(t, st.Put("secret", state.Resource{ID: "arn:aws:secretsmanager:us-east-1:999999999999:secret:db-credentials-" + env + "-AbCdEf"}))
	r := tapctl(t, dir, "up", "--no-wait", "--env", env)
	if r.Code == 0 || !strings.Contains(r.Stderr, "is in account 999999999999, this run works in 123456789012") {
		t.Errorf("up with another account's secret ARN: exit %d:\n%s", r.Code, r.Stderr)
	}
	if m := r.Calls.Mutating(); len(m) != 0 {
		t.Errorf("up made mutating calls: %v", m)
	}
	st, err = state.Open(dir, env) // the refused up recorded its settings
	must(t, err)
	must(t, st.Put("secret", state.Resource{ID: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-credentials-" + env + "-AbCdEf"}))
	r = tapctl(t, dir, "down", "--yes", "--env", env)
	if r.Code == 0 || !strings.Contains(r.Stderr, "is in region eu-west-1, this run works in us-east-1") {
		t.Errorf("down with another region's secret ARN: exit %d:\n%s", r.Code, r.Stderr)
	}
	if m := r.Calls.Mutating(); len(m) != 0 {
		t.Errorf("down made mutating calls: %v", m)
	}

	other, dir2 := newEnvName(t), t.TempDir()
	st2, err := state.Open(dir2, other)
	must(t, err)
	must(t, st2.SetSetting("account", "999999999999"))
	for _, command := range [][]string{{"up"}, {"plan"}, {"down", "--yes"}, {"deploy", "--service", "payment", "--image", "nginx:1"}} {
		r := tapctl(t, dir2, append(command, "--env", other)...)
		msg := strings.TrimSpace(r.Stderr)
		if r.Code != 2 || strings.Contains(msg, "\n") || !strings.Contains(msg, "was created in account 999999999999, but these credentials are for account 123456789012") {
			t.Errorf("%s with another account's state file: exit %d, %q", command[0], r.Code, msg)
		}
		if m := r.Calls.Mutating(); len(m) != 0 {
			t.Errorf("%s made mutating calls: %v", command[0], m)
		}
	}
}
