package main

import (
	"slices"
	"strings"
	"testing"
)

// go list -json's answer for a small module: the root, a package with an external import and a
// test-only import, a test that imports what the code already does, and a tool.
const listed = `{"ImportPath": "example.com/m", "Name": "main", "Module": {"Path": "example.com/m"}, "Imports": ["example.com/m/cmd", "os"]}
{"ImportPath": "example.com/m/cmd", "Name": "cmd", "Module": {"Path": "example.com/m"}, "Imports": ["example.com/m/end", "github.com/urfave/cli/v2"],
 "TestImports": ["example.com/m/end", "example.com/m/state", "testing"], "XTestImports": ["example.com/m/cmd", "example.com/m/state"]}
{"ImportPath": "example.com/m/end", "Name": "end", "Module": {"Path": "example.com/m"}}
{"ImportPath": "example.com/m/state", "Name": "state", "Module": {"Path": "example.com/m"}}
{"ImportPath": "example.com/m/tools/archgraph", "Name": "main", "Module": {"Path": "example.com/m"}, "Imports": ["example.com/m/cmd"]}
`

func TestPictureOfTheModulesImports(t *testing.T) {
	pkgs, err := parsePackages(strings.NewReader(listed))
	if err != nil {
		t.Fatal(err)
	}
	got := mermaid(pkgs)
	want := "```mermaid\nflowchart TD\n" +
		"  pkg_root[\"main.go\"]\n  pkg_cmd[\"cmd/\"]\n  pkg_end[\"end/\"]\n  pkg_state[\"state/\"]\n" +
		"  pkg_root --> pkg_cmd\n  pkg_cmd --> pkg_end\n" +
		"  pkg_cmd -.-> pkg_state\n" +
		"```\n"
	if got != want {
		t.Errorf("picture:\n%s\nwant:\n%s", got, want)
	}
}

func TestBlockIsReplacedBetweenTheMarkersOnly(t *testing.T) {
	doc := "# A\n\nhand-written\n" + beginMarker + "\nold picture\n" + endMarker + "\n\n### `cmd/`\n\nmore\n"
	got, err := replaceBlock(doc, "new picture\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "# A\n\nhand-written\n" + beginMarker + "\nnew picture\n" + endMarker + "\n\n### `cmd/`\n\nmore\n"; got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	again, _ := replaceBlock(got, "new picture\n")
	if again != got {
		t.Error("a second run changed the document: the check would never pass")
	}
	if _, err := replaceBlock("# no markers\n", "x"); err == nil {
		t.Error("a document without markers was accepted")
	}
}

// A package without a paragraph is named, so a new package (the engine's, say) is explained
// when it lands.
func TestPackagesWithoutAParagraphAreNamed(t *testing.T) {
	pkgs, err := parsePackages(strings.NewReader(listed))
	if err != nil {
		t.Fatal(err)
	}
	doc := "### `main.go`\n\nthe entry\n\n### `cmd/`\n\nthe command line\n\n### `state/`\n\nstate files\n"
	if got := unexplained(pkgs, doc); !slices.Equal(got, []string{"end/"}) {
		t.Errorf("unexplained = %v, want [end/]", got)
	}
}
