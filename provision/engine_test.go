package provision

import (
	"context"
	"github.com/tapctl/tapctl/catalog"
	"strings"
	"testing"
)

type fakeStep struct {
	name string
	deps []string
	log  *[]string
}

func (f fakeStep) Name() string        { return f.name }
func (f fakeStep) DependsOn() []string { return f.deps }
func (f fakeStep) Up(context.Context, *Env) error {
	*f.log = append(*f.log, "up "+f.name)
	return nil
}
func (f fakeStep) Down(context.Context, *Env) error {
	*f.log = append(*f.log, "down "+f.name)
	return nil
}
func (f fakeStep) Inspect(context.Context, *Env) []Status { return nil }

func names(steps []Step) string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Name())
	}
	return strings.Join(out, ",")
}

func TestOrderPutsDependenciesFirst(t *testing.T) {
	var log []string
	steps := []Step{
		fakeStep{"routes", []string{"subnets", "nat"}, &log},
		fakeStep{"nat", []string{"subnets", "igw"}, &log},
		fakeStep{"subnets", []string{"vpc"}, &log},
		fakeStep{"igw", []string{"vpc"}, &log},
		fakeStep{"vpc", nil, &log},
	}
	ordered, err := Order(steps)
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, s := range ordered {
		pos[s.Name()] = i
	}
	for _, s := range steps {
		for _, d := range s.DependsOn() {
			if pos[d] >= pos[s.Name()] {
				t.Errorf("%s runs at %d before its dependency %s at %d (%s)", s.Name(), pos[s.Name()], d, pos[d], names(ordered))
			}
		}
	}
	if got := names(Reverse(ordered)); got != "routes,nat,igw,subnets,vpc" {
		t.Errorf("reverse order = %s", got)
	}
}

func TestOrderRejectsCyclesAndUnknownDependencies(t *testing.T) {
	var log []string
	_, err := Order([]Step{fakeStep{"a", []string{"b"}, &log}, fakeStep{"b", []string{"a"}, &log}})
	if err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: got %v", err)
	}
	_, err = Order([]Step{fakeStep{"a", []string{"nope"}, &log}})
	if err == nil || !strings.Contains(err.Error(), "unknown step") {
		t.Errorf("unknown: got %v", err)
	}
	_, err = Order([]Step{fakeStep{"a", nil, &log}, fakeStep{"a", nil, &log}})
	if err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate: got %v", err)
	}
}

func TestPlatformGraphIsValid(t *testing.T) {
	for _, mode := range []MeshMode{MeshServiceConnect, MeshAppMesh, MeshNone} {
		if _, err := Order(Platform(catalog.Default(), Choices{Mesh: mode, Strategy: BlueGreen})); err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
	}
}
