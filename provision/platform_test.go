package provision

import (
	"testing"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/engine"
)

func TestPlatformGraphIsValid(t *testing.T) {
	for _, mode := range []MeshMode{MeshServiceConnect, MeshAppMesh, MeshNone} {
		if _, err := engine.Order(Platform(catalog.Default(), Choices{Mesh: mode, Strategy: BlueGreen})); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
	}
}
