package provision

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	meshtypes "github.com/aws/aws-sdk-go-v2/service/appmesh/types"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// ErrAppMeshUnavailable is returned when the App Mesh API is not served where tapctl points.
var ErrAppMeshUnavailable = errors.New("App Mesh is not available here: AWS ended support for App Mesh on 2026-09-30; use --mesh service-connect (the default), its successor")

// Error codes that prove the App Mesh API is served: it understood the call and refused or
// throttled it. Anything else (an unreachable endpoint, an unknown operation, access or
// subscription refused) means the API is gone; this is decided from the answer, not a date.
var appMeshServedCodes = []string{
	"NotFoundException", "BadRequestException", "ConflictException", "ValidationException",
	"TooManyRequestsException", "ThrottlingException", "LimitExceededException",
}

func appMeshServed(err error) bool {
	return err == nil || cloud.IsNotFound(err) || cloud.HasCode(err, appMeshServedCodes...)
}

// CheckAppMesh makes one read call to learn whether the App Mesh API is served, before
// anything is created for an environment that asks for it.
func CheckAppMesh(ctx context.Context, e *Env) error {
	_, err := e.AWS.AppMesh.DescribeMesh(ctx, &appmesh.DescribeMeshInput{MeshName: aws.String(e.Names.Mesh())})
	if appMeshServed(err) {
		return nil
	}
	e.Log.Debug().Err(err).Msg("App Mesh probe failed")
	return ErrAppMeshUnavailable
}

func (e *Env) meshTags(name, service string) []meshtypes.TagRef {
	return tagList(e, name, service, func(k, v string) meshtypes.TagRef { return meshtypes.TagRef{Key: aws.String(k), Value: aws.String(v)} })
}

// meshStep owns the App Mesh mesh of SPEC row 10 (legacy mode).
type meshStep struct{}

func (meshStep) Name() string        { return keyMesh }
func (meshStep) DependsOn() []string { return nil }

// findMesh answers nil when the mesh does not exist or App Mesh is not served at all: in both
// cases there is nothing of it to keep or delete.
func findMesh(ctx context.Context, e *Env) (*meshtypes.MeshData, error) {
	return engine.Discover(e.Run, "mesh", func() (*meshtypes.MeshData, error) {
		return engine.FindOwned(e.Run, engine.Lookup[meshtypes.MeshData]{
			Kind: "App Mesh mesh", Name: e.Names.Mesh(),
			ByName: func() (*meshtypes.MeshData, error) {
				out, err := e.AWS.AppMesh.DescribeMesh(ctx, &appmesh.DescribeMeshInput{MeshName: aws.String(e.Names.Mesh())})
				if cloud.IsNotFound(err) || (err != nil && !appMeshServed(err)) {
					return nil, nil
				}
				if err != nil {
					return nil, fmt.Errorf("describing mesh %s: %w", e.Names.Mesh(), err)
				}
				if out.Mesh.Status != nil && out.Mesh.Status.Status == meshtypes.MeshStatusCodeDeleted {
					return nil, nil
				}
				return out.Mesh, nil
			},
			Tags: func(m *meshtypes.MeshData) (map[string]string, error) {
				out, err := e.AWS.AppMesh.ListTagsForResource(ctx, &appmesh.ListTagsForResourceInput{ResourceArn: m.Metadata.Arn})
				if err != nil {
					return nil, fmt.Errorf("reading the tags of mesh %s: %w", e.Names.Mesh(), err)
				}
				return TagMap(out.Tags, func(t meshtypes.TagRef) (*string, *string) { return t.Key, t.Value }), nil
			},
			ID: func(m *meshtypes.MeshData) string { return aws.ToString(m.MeshName) },
		})
	})
}

// describeInMesh reads one resource of the environment's mesh: nil when the mesh or the resource
// does not exist, or App Mesh is not served. Its resources are proven through their mesh.
func describeInMesh[T any](ctx context.Context, e *Env, resource string, describe func() (*T, error)) (*T, error) {
	if mesh, err := findMesh(ctx, e); err != nil || mesh == nil {
		return nil, err
	}
	found, err := describe()
	if cloud.IsNotFound(err) || (err != nil && !appMeshServed(err)) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describing %s: %w", resource, err)
	}
	return found, nil
}

func (meshStep) Claim(ctx context.Context, e *Env) error {
	_, err := findMesh(ctx, e)
	return err
}

func meshSpec() *meshtypes.MeshSpec {
	return &meshtypes.MeshSpec{EgressFilter: &meshtypes.EgressFilter{Type: meshtypes.EgressFilterTypeAllowAll}}
}

func (meshStep) Up(ctx context.Context, e *Env) error {
	name := e.Names.Mesh()
	mesh, err := findMesh(ctx, e)
	if err != nil {
		return err
	}
	var have *state.Resource
	drift := ""
	if mesh != nil {
		have = &state.Resource{ID: name, ARN: aws.ToString(mesh.Metadata.Arn)}
		if !meshAllowsEgress(mesh.Spec) {
			drift = "egress filter ALLOW_ALL"
		}
	}
	return convergeNamed(e, keyMesh, "mesh "+name, have, func() (state.Resource, error) {
		out, err := e.AWS.AppMesh.CreateMesh(ctx, &appmesh.CreateMeshInput{
			MeshName: aws.String(name), Spec: meshSpec(), Tags: e.meshTags(name, ""),
		}) // the SDK fills ClientToken, so its retries of a lost answer stay idempotent
		if err != nil {
			return state.Resource{}, fmt.Errorf("creating mesh %s: %w", name, err)
		}
		return state.Resource{ID: name, ARN: aws.ToString(out.Mesh.Metadata.Arn)}, nil
	}, drift, func() error {
		if _, err := e.AWS.AppMesh.UpdateMesh(ctx, &appmesh.UpdateMeshInput{MeshName: aws.String(name), Spec: meshSpec()}); err != nil {
			return fmt.Errorf("updating mesh %s: %w", name, err)
		}
		return nil
	})
}

// meshAllowsEgress reports whether the mesh lets tasks reach any address (ALLOW_ALL), as
// meshSpec sets it.
func meshAllowsEgress(spec *meshtypes.MeshSpec) bool {
	return spec != nil && spec.EgressFilter != nil && spec.EgressFilter.Type == meshtypes.EgressFilterTypeAllowAll
}

func (meshStep) Down(ctx context.Context, e *Env) error {
	mesh, err := findMesh(ctx, e)
	if err != nil {
		return err
	}
	name := e.Names.Mesh()
	return deleteThenForget(e, keyMesh, mesh != nil, "mesh "+name, name, func() error {
		return retryWhileInUse(ctx, "mesh "+name, e.Timeouts.Dependencies, cloud.DependencyCodes, func(ctx context.Context) error {
			_, err := e.AWS.AppMesh.DeleteMesh(ctx, &appmesh.DeleteMeshInput{MeshName: aws.String(name)})
			return err
		})
	})
}

func (meshStep) Inspect(ctx context.Context, e *Env) []Status {
	mesh, err := findMesh(ctx, e)
	return []Status{{Resource: "mesh " + e.Names.Mesh(), StateID: e.StateID(keyMesh),
		AWS: engine.Observe(err, mesh != nil, func() string { return "active" })}}
}
