// Package teardown removes an environment: every step's Down in the reverse of the order
// provisioning runs them, then the state file, last, so an interrupted teardown can resume.
package teardown

import (
	"context"
	"fmt"

	"github.com/tapctl/tapctl/provision"
)

// Run deletes every resource of the platform, stopping at the first failure so nothing is
// deleted before what depends on it. Each Down finds its resource by state ID, then by tags,
// so a lost or partial state file still leads to a complete teardown.
func Run(ctx context.Context, e *provision.Env, steps []provision.Step) error {
	ordered, err := provision.Order(steps)
	if err != nil {
		return err
	}
	for _, s := range provision.Reverse(ordered) {
		if err := ctx.Err(); err != nil {
			return err
		}
		e.Log.Debug().Str("step", s.Name()).Msg("deleting")
		if err := s.Down(ctx, e.ForStep(s.Name())); err != nil {
			return fmt.Errorf("step %s: %w", s.Name(), err)
		}
	}
	if left := e.State.Keys(); len(left) > 0 {
		return fmt.Errorf("teardown finished but the state file still lists %v; run down again", left)
	}
	// Forgotten last: only once AWS holds nothing of the environment.
	return e.State.Remove()
}
