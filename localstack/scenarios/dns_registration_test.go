package scenarios

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/middleware"
)

// assertDNSRegistration reads back each ECS service's Cloud Map DNS registration: the service's
// discovery service when registered, none otherwise.
func assertDNSRegistration(t *testing.T, dir, env string, registered bool, when string) {
	t.Helper()
	for _, svc := range describeServices(t, env) {
		name := aws.ToString(svc.ServiceName)
		short := name[:len(name)-len("-service-"+env)]
		regs := svc.ServiceRegistries
		switch {
		case !registered && len(regs) != 0:
			t.Errorf("%s: %s is registered in Cloud Map DNS: %+v", when, name, regs)
		case registered && (len(regs) != 1 || aws.ToString(regs[0].RegistryArn) != stateResource(t, dir, env, short+"/discovery-service").ARN):
			t.Errorf("%s: %s registries %+v, want its discovery service", when, name, regs)
		}
	}
}

// Cloud Map DNS registers new tasks at once, before a blue/green deployment shifts traffic. With
// Service Connect and blue/green the services are not registered in DNS (callers use the Service
// Connect alias, which follows the deployment); with mesh none, App Mesh or rolling they are.
// up converges an existing service either way: UpdateService with an empty list removes the
// registration, and the service reads back without it.
func TestDNSRegistrationFollowsMeshAndStrategy(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	created := newCapture("ECS", "CreateService")
	tapctlWith(t, dir, []func(*middleware.Stack) error{created.middleware}, "up", "--env", env, "--no-wait").mustSucceed(t)
	for _, b := range created.jsonBodies(t) {
		if regs, has := b["serviceRegistries"]; has {
			t.Errorf("CreateService of %v with Service Connect and blue/green registers in DNS: %v", b["serviceName"], regs)
		}
	}
	assertDNSRegistration(t, dir, env, false, "service-connect, blue-green")

	tapctl(t, dir, "up", "--env", env, "--mesh", "none", "--no-wait").mustSucceed(t)
	assertDNSRegistration(t, dir, env, true, "none, blue-green")

	updated := newCapture("ECS", "UpdateService")
	tapctlWith(t, dir, []func(*middleware.Stack) error{updated.middleware}, "up", "--env", env, "--mesh", "service-connect", "--no-wait").mustSucceed(t)
	removals := 0
	for _, b := range updated.jsonBodies(t) {
		if raw, _ := json.Marshal(b["serviceRegistries"]); string(raw) == "[]" {
			removals++
		}
	}
	if removals != 3 {
		t.Errorf("%d UpdateService calls remove the DNS registration (an empty list), want 3", removals)
	}
	assertDNSRegistration(t, dir, env, false, "back to service-connect, blue-green")
	if m := tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t).Calls.Mutating(); len(m) != 0 {
		t.Errorf("up after the removal made %v", m)
	}

	tapctl(t, dir, "up", "--env", env, "--deploy-strategy", "rolling", "--no-wait").mustSucceed(t)
	assertDNSRegistration(t, dir, env, true, "service-connect, rolling")

	tapctl(t, dir, "down", "--yes", "--env", env).mustSucceed(t)
	if left := leftovers(t, env); len(left) != 0 {
		t.Errorf("down left %v", left)
	}
}
