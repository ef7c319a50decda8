package scenarios

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/middleware"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/naming"
)

// The strict layer is on for every test: the shared endpoint answers as AWS does (here, a
// secret's name right after a force-delete).
func TestEveryTestTalksToTheStrictLayer(t *testing.T) {
	ctx, c := context.Background(), clients(t).Secrets
	name := "strict-" + newEnvName(t)
	_, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("x")})
	must(t, err)
	_, err = c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(name), ForceDeleteWithoutRecovery: aws.Bool(true)})
	must(t, err)
	_, err = c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("x")})
	if err == nil || !strings.Contains(err.Error(), "scheduled for deletion") {
		t.Errorf("a secret name right after its force-delete, through Endpoint: %v, want AWS's refusal", err)
	}
	c.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(name), ForceDeleteWithoutRecovery: aws.Bool(true)})
}

// A fresh up meets each "not yet" answer AWS gives right after a create (the cluster, a listener
// rule and a role to CreateService, the ECS service to RegisterScalableTarget, the KMS key to
// EnableKeyRotation, CreateAlias and CreateLogGroup, the NAT gateway to CreateRoute), retries
// each, and ends with the whole platform.
func TestNotYetAnswersAfterCreatesAreRetried(t *testing.T) {
	env, dir, p := newEnvName(t), t.TempDir(), startProxy(t)
	downAtCleanup(t, dir, env)
	tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--no-wait").mustSucceed(t)
	fired := p.StrictFired()
	for rule, atLeast := range map[string]int{
		"ECS CreateService: cluster": 1, "ECS CreateService: listener rule": 1, "ECS CreateService: role": 1,
		"an ECS service just created": 3, "a KMS key just created": 3, "a route to a NAT gateway just created": 1,
	} {
		if fired[rule] < atLeast {
			t.Errorf("the strict layer answered %q %d times, want at least %d (fired: %v)", rule, fired[rule], atLeast, fired)
		}
	}
	assertInventory(t, dir, env)
}

// down then up at once: the secret's name is still being freed (the strict layer refuses it
// once), and up waits and takes it.
func TestUpRightAfterDownRetriesTheSecretName(t *testing.T) {
	env, dir, p := newEnvName(t), t.TempDir(), startProxy(t)
	downAtCleanup(t, dir, env)
	tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--no-wait").mustSucceed(t)
	tapctlAt(t, p.URL, dir, nil, "down", "--yes", "--env", env).mustSucceed(t)
	tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--no-wait").mustSucceed(t)
	if n := p.StrictFired()["a secret name right after a force-delete"]; n != 1 {
		t.Errorf("the secret name was refused %d times, want once", n)
	}
	assertInventory(t, dir, env)
}

// A change of a service's minCount and maxCount on a live environment: RegisterScalableTarget
// goes without tags (AWS refuses tags on an existing target) and TagResource sets them.
func TestScalingBoundsChangeOnALiveEnvironment(t *testing.T) {
	env, dir, p := newEnvName(t), t.TempDir(), startProxy(t)
	downAtCleanup(t, dir, env)
	ctx, c, n := context.Background(), clientsAt(t, p.URL), naming.Names{Env: env}
	tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--no-wait").mustSucceed(t)

	services := catalog.Default()
	services[0].MinCount, services[0].Desired, services[0].MaxCount = 3, 3, 6
	config := filepath.Join(t.TempDir(), "tapctl.yaml")
	must(t, os.WriteFile(config, catalog.Template(services), 0o644))
	registered := newCapture("Application Auto Scaling", "RegisterScalableTarget")
	r := tapctlAt(t, p.URL, dir, []func(*middleware.Stack) error{registered.middleware}, "up", "--env", env, "--no-wait", "--config", config).mustSucceed(t)
	for _, body := range registered.jsonBodies(t) {
		if _, tagged := body["Tags"]; tagged {
			t.Errorf("RegisterScalableTarget of an existing target carries tags: %v", body)
		}
	}
	if got := r.Calls.Mutating(); !slicesContain(got, "Application Auto Scaling.TagResource") {
		t.Errorf("no TagResource after the capacity change: %v", got)
	}
	id := "service/" + n.Cluster() + "/" + n.Service("payment")
	out, err := c.AutoScaling.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceIds: []string{id}})
	must(t, err)
	if len(out.ScalableTargets) != 1 || aws.ToInt32(out.ScalableTargets[0].MinCapacity) != 3 || aws.ToInt32(out.ScalableTargets[0].MaxCapacity) != 6 {
		t.Fatalf("scalable target of payment = %+v, want 3..6", out.ScalableTargets)
	}
	tags := p.AutoScalingTags(aws.ToString(out.ScalableTargets[0].ScalableTargetARN))
	if tags["Environment"] != env || tags["ManagedBy"] != "tapctl" || tags["Service"] != "payment" {
		t.Errorf("scalable target tags = %v", tags)
	}
	if fired := p.StrictFired()["tags on an existing scalable target"]; fired != 0 {
		t.Errorf("AWS would have refused %d RegisterScalableTarget calls", fired)
	}
}

func slicesContain(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
