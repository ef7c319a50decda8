package provision

import "fmt"

// MeshMode is how the services of an environment find each other.
type MeshMode string

const (
	// MeshServiceConnect is the default: ECS Service Connect over the Cloud Map namespace,
	// AWS's named successor to App Mesh.
	MeshServiceConnect MeshMode = "service-connect"
	// MeshAppMesh is the source design's App Mesh, kept as a legacy mode: AWS ended support for
	// App Mesh on 2026-09-30.
	MeshAppMesh MeshMode = "appmesh"
	// MeshNone registers the services in Cloud Map by DNS only.
	MeshNone MeshMode = "none"
)

// ParseMeshMode checks a --mesh value.
func ParseMeshMode(s string) (MeshMode, error) {
	switch m := MeshMode(s); m {
	case MeshServiceConnect, MeshAppMesh, MeshNone:
		return m, nil
	}
	return "", fmt.Errorf("invalid --mesh %q: use service-connect (the default), appmesh or none", s)
}
