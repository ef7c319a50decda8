// Package teardown owns tapctl down: every step's Down in the reverse of the order provisioning
// runs them, then a sweep of whatever else AWS still holds tagged as the environment's, then the
// state file, last, so an interrupted teardown can resume.
package teardown

import (
	"context"
	"fmt"
	"strings"

	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/provision"
)

// Options are down's choices.
type Options struct {
	// Choices are the environment's remembered mesh and deployment choices: they decide which
	// steps the platform has (App Mesh's, or the retired mesh's clean-up).
	Choices     provision.Choices
	Parallelism int
	// Cascade: a base with overlays is prepared anyway (Down.Overlays names them); the caller
	// takes them down first and prepares the base again.
	Cascade bool
}

// Down is one teardown, prepared: the platform's steps for the catalog and for the services the
// environment still has that left the catalog. cmd shows Resources and asks before Run.
type Down struct {
	env   *provision.Env
	steps []provision.Step
	opts  Options
	// Overlays, with Options.Cascade, are the overlay environments that use this one as their
	// base: they go first.
	Overlays []string
}

// BaseInUseError refuses the down of a base environment while overlays run on it.
type BaseInUseError struct {
	Base     string
	Overlays []string
}

func (b *BaseInUseError) Error() string {
	return fmt.Sprintf("environment %s is the base of %d overlay environment(s): %s; take them down first (tapctl down --env NAME), or pass --cascade",
		b.Base, len(b.Overlays), strings.Join(b.Overlays, ", "))
}

// Prepare works out what down deletes, with read calls only. Found by name, what is not the
// environment's is left alone (and said so) rather than refused: down must get past it.
func Prepare(ctx context.Context, e *provision.Env, opts Options) (*Down, error) {
	e = engine.ForTeardown(e)
	provision.PrefetchTags(ctx, e)
	// A base goes only after its overlays: their listeners, services and tasks live in it.
	overlays, err := provision.OverlaysOf(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("looking for overlays of %s: %w", e.Name, err)
	}
	if len(overlays) > 0 && !opts.Cascade {
		return nil, &BaseInUseError{Base: e.Name, Overlays: overlays}
	}
	// Services that left the catalog but whose resources up has not deleted yet go too.
	removed, err := provision.RemovedServices(ctx, e, e.Catalog)
	if err != nil {
		return nil, err
	}
	e.Catalog = provision.WithRemoved(e.Catalog, removed)
	return &Down{env: e, steps: provision.Platform(e.Catalog, opts.Choices), opts: opts, Overlays: overlays}, nil
}

// Resources is every resource of the platform's steps as the state file and AWS see it now, for
// the confirmation (read calls only). The sweep's finds are not known before the steps ran.
func (d *Down) Resources(ctx context.Context) ([]engine.Status, error) {
	return engine.Inspect(ctx, d.env, d.steps)
}

// Run deletes every resource of the platform, each only after everything that depends on it,
// and starts no new deletion after a failure. Each Down finds its resource by state ID, then by
// tags, so a lost or partial state file still leads to a complete teardown. Then the sweep
// deletes, or names, what else is tagged as the environment's; the state file is forgotten only
// when nothing of the environment is left.
func (d *Down) Run(ctx context.Context) error {
	if err := engine.Destroy(ctx, d.env, d.steps, d.opts.Parallelism); err != nil {
		return err
	}
	if left := d.env.State.Keys(); len(left) > 0 {
		return fmt.Errorf("teardown finished but the state file still lists %v; run down again", left)
	}
	if err := sweep(ctx, d.env); err != nil {
		return err
	}
	// Forgotten last: only once AWS holds nothing of the environment.
	return d.env.State.Remove()
}
