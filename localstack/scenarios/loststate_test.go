package scenarios

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With the state file gone, up adopts the tagged resources instead of creating second copies,
// and down finds everything by its tags and names, in every service.
func TestLostStateFileUpAdoptsAndDownFindsByTags(t *testing.T) {
	env, dir, p := newEnvName(t), t.TempDir(), startProxy(t)
	downAtCleanup(t, dir, env)
	tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--no-wait").mustSucceed(t)
	statePath := filepath.Join(dir, env+".json")

	must(t, os.Remove(statePath))
	adopt := tapctlAt(t, p.URL, dir, nil, "up", "--env", env, "--no-wait").mustSucceed(t)
	for _, call := range adopt.Calls.Mutating() {
		if strings.Contains(call, ".Create") || strings.Contains(call, ".Allocate") || strings.Contains(call, ".Register") {
			t.Errorf("up without a state file created something: %s", call)
		}
	}
	if _, err := os.Stat(statePath); err != nil {
		t.Fatalf("adopting up did not write the state file: %v", err)
	}
	assertInventory(t, dir, env)
	assertCreatedAreTheInventory(t, p.Journal(), env)

	must(t, os.Remove(statePath))
	tapctlAt(t, p.URL, dir, nil, "down", "--yes", "--env", env).mustSucceed(t)
	if left := leftovers(t, env); len(left) != 0 {
		t.Errorf("down without a state file left %v", left)
	}
	assertCreatedAreGone(t, p.Journal())
}
