package provision

import (
	"context"

	"github.com/tapctl/tapctl/catalog"
)

// retiredMeshStep removes App Mesh from an environment that no longer uses it (a move to
// Service Connect or none). Its Up runs after every ECS service is configured for the new mode,
// so traffic has moved first, and only when the state file says App Mesh resources were made,
// so a converged run makes no call. Its Down runs in every teardown: it removes whichever mesh
// exists, and makes a single read call when there is none (or App Mesh is not served at all).
type retiredMeshStep struct{ services []catalog.Service }

func (retiredMeshStep) Name() string { return "retire/appmesh" }
func (r retiredMeshStep) DependsOn() []string {
	var deps []string
	for _, svc := range r.services {
		deps = append(deps, serviceKey(svc.Name, kindECSService))
	}
	return deps
}

func (retiredMeshStep) Retires() {}

func (r retiredMeshStep) recorded(e *Env) bool {
	return e.StateID(keyMesh) != "" || r.anyNodeRecorded(e)
}

func (r retiredMeshStep) anyNodeRecorded(e *Env) bool {
	for _, svc := range r.services {
		if e.StateID(virtualNodeStep{svc}.key()) != "" || e.StateID(virtualServiceStep{svc}.key()) != "" {
			return true
		}
	}
	return false
}

// Claim reads nothing unless App Mesh resources were made: a converged run stays read-free here.
func (r retiredMeshStep) Claim(ctx context.Context, e *Env) error {
	if !r.recorded(e) {
		return nil
	}
	_, err := findMesh(ctx, e)
	return err
}

func (r retiredMeshStep) Up(ctx context.Context, e *Env) error {
	if !r.recorded(e) {
		return nil
	}
	return r.Down(ctx, e)
}

func (r retiredMeshStep) Down(ctx context.Context, e *Env) error {
	mesh, err := findMesh(ctx, e)
	if err != nil {
		return err
	}
	if mesh != nil {
		for _, svc := range r.services {
			if err := (virtualServiceStep{svc}).Down(ctx, e); err != nil {
				return err
			}
			if err := (virtualNodeStep{svc}).Down(ctx, e); err != nil {
				return err
			}
		}
		return meshStep{}.Down(ctx, e)
	}
	for _, svc := range r.services {
		for _, k := range []string{virtualServiceStep{svc}.key(), virtualNodeStep{svc}.key()} {
			if err := e.Forget(k); err != nil {
				return err
			}
		}
	}
	return e.Forget(keyMesh)
}

// Inspect shows what the retirement removes: the mesh, and each service's virtual node and
// virtual service.
func (r retiredMeshStep) Inspect(ctx context.Context, e *Env) []Status {
	if !r.recorded(e) {
		return nil
	}
	out := meshStep{}.Inspect(ctx, e)
	for _, svc := range r.services {
		out = append(out, virtualServiceStep{svc}.Inspect(ctx, e)...)
		out = append(out, virtualNodeStep{svc}.Inspect(ctx, e)...)
	}
	return out
}
