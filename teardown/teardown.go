// Package teardown removes an environment: every step's Down in the reverse of the order
// provisioning runs them, then the state file, last, so an interrupted teardown can resume.
package teardown

import (
	"context"
	"fmt"

	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/provision"
)

// Run deletes every resource of the platform, each only after everything that depends on it,
// and starts no new deletion after a failure. Each Down finds its resource by state ID, then by tags,
// so a lost or partial state file still leads to a complete teardown.
func Run(ctx context.Context, e *provision.Env, steps []provision.Step, parallelism int) error {
	if err := engine.Destroy(ctx, e, steps, parallelism); err != nil {
		return err
	}
	if left := e.State.Keys(); len(left) > 0 {
		return fmt.Errorf("teardown finished but the state file still lists %v; run down again", left)
	}
	// Forgotten last: only once AWS holds nothing of the environment.
	return e.State.Remove()
}
