package localstack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// With the state file gone, up adopts the tagged resources instead of creating second copies,
// and down finds everything by its tags.
func TestLostStateFileUpAdoptsAndDownFindsByTags(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)
	statePath := filepath.Join(dir, env+".json")

	must(t, os.Remove(statePath))
	adopt := tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)
	for _, call := range adopt.Calls.Mutating() {
		if strings.Contains(call, ".Create") || strings.Contains(call, ".Allocate") || strings.Contains(call, ".Register") {
			t.Errorf("up without a state file created something: %s", call)
		}
	}
	assertNetwork(t, env)
	if _, err := os.Stat(statePath); err != nil {
		t.Fatalf("adopting up did not write the state file: %v", err)
	}

	must(t, os.Remove(statePath))
	tapctl(t, dir, "down", "--yes", "--env", env).mustSucceed(t)
	if n := readNetwork(t, env); n.count() != 0 {
		t.Errorf("down without a state file left %d resources", n.count())
	}
}
