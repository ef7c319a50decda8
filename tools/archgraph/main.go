// Command archgraph draws the module's packages and their imports as a Mermaid graph, from the
// code itself (go list -json ./...), into docs/ARCHITECTURE.md between two marker lines, so the
// picture cannot drift from the code: make architecture writes it, make architecture-check
// fails when the committed one differs. It also fails when a package has no paragraph in the
// document (a heading "### `path`"), so a new package is explained when it lands.
//
// Usage: go run ./tools/archgraph [-doc docs/ARCHITECTURE.md] [-o FILE]
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
)

// The block between these lines is the generator's; the rest of the document is written by hand.
const (
	beginMarker = "<!-- architecture:begin — written by `make architecture` from `go list`; do not edit -->"
	endMarker   = "<!-- architecture:end -->"
)

// toolsDir holds programs that build the project's documents, not the product: left out of the picture.
const toolsDir = "tools"

func main() {
	doc := flag.String("doc", "docs/ARCHITECTURE.md", "the document whose marked block is rewritten")
	out := flag.String("o", "", "where to write the result (default: -doc itself; make architecture-check writes a copy and diffs)")
	flag.Parse()
	if *out == "" {
		*out = *doc
	}
	if err := run(*doc, *out); err != nil {
		fmt.Fprintln(os.Stderr, "archgraph:", err)
		os.Exit(1)
	}
}

func run(docPath, outPath string) error {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("go list -json ./...: %w: %s", err, exit.Stderr)
		}
		return fmt.Errorf("go list -json ./...: %w", err)
	}
	pkgs, err := parsePackages(bytes.NewReader(out))
	if err != nil {
		return err
	}
	old, err := os.ReadFile(docPath)
	if err != nil {
		return fmt.Errorf("reading %s: %w", docPath, err)
	}
	updated, err := replaceBlock(string(old), mermaid(pkgs))
	if err != nil {
		return fmt.Errorf("%s: %w", docPath, err)
	}
	if updated != string(old) || outPath != docPath {
		if err := os.WriteFile(outPath, []byte(updated), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", outPath, err)
		}
	}
	if missing := unexplained(pkgs, updated); len(missing) > 0 {
		return fmt.Errorf("%s has no paragraph (a heading \"### `path`\") for %s: say what each does and what it may import", docPath, strings.Join(missing, ", "))
	}
	return nil
}

// pkg is one package of the module, its imports of the module's packages only, by path
// relative to the module ("." is the module's root).
type pkg struct {
	Path        string
	Name        string
	Imports     []string // by its own code
	TestImports []string // by its tests only
}

// goListPackage is the part of go list -json's answer read here.
type goListPackage struct {
	ImportPath   string
	Name         string
	Module       *struct{ Path string }
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// parsePackages reads go list -json's stream of objects.
func parsePackages(r io.Reader) ([]pkg, error) {
	var listed []goListPackage
	dec := json.NewDecoder(r)
	for {
		var p goListPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading go list -json: %w", err)
		}
		listed = append(listed, p)
	}
	var out []pkg
	for _, p := range listed {
		if p.Module == nil {
			return nil, fmt.Errorf("package %s is outside a module", p.ImportPath)
		}
		module := p.Module.Path
		rel := func(path string) (string, bool) {
			if path == module {
				return ".", true
			}
			r, ok := strings.CutPrefix(path, module+"/")
			return r, ok
		}
		self, _ := rel(p.ImportPath)
		if self == toolsDir || strings.HasPrefix(self, toolsDir+"/") {
			continue
		}
		q := pkg{Path: self, Name: p.Name}
		own := map[string]bool{}
		for _, imp := range p.Imports {
			if r, ok := rel(imp); ok {
				q.Imports = append(q.Imports, r)
				own[r] = true
			}
		}
		tests := map[string]bool{}
		for _, imp := range append(append([]string{}, p.TestImports...), p.XTestImports...) {
			if r, ok := rel(imp); ok && r != self && !own[r] && !tests[r] {
				q.TestImports = append(q.TestImports, r)
				tests[r] = true
			}
		}
		sort.Strings(q.Imports)
		sort.Strings(q.TestImports)
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// nodeID is a Mermaid-safe name for a package path; the prefix keeps a package named like one
// of Mermaid's keywords (end, graph, style, ...) from breaking the picture.
func nodeID(path string) string {
	if path == "." {
		return "pkg_root"
	}
	return "pkg_" + strings.NewReplacer("/", "_", "-", "_", ".", "_").Replace(path)
}

// label is how the picture names a package: its folder, or main.go for the module's root.
func label(p pkg) string {
	if p.Path == "." {
		return "main.go"
	}
	return p.Path + "/"
}

// mermaid is the picture: one node per package, a solid arrow for each import of the package's
// code, a dashed one for what only its tests import.
func mermaid(pkgs []pkg) string {
	var b strings.Builder
	b.WriteString("```mermaid\nflowchart TD\n")
	for _, p := range pkgs {
		fmt.Fprintf(&b, "  %s[\"%s\"]\n", nodeID(p.Path), label(p))
	}
	for _, p := range pkgs {
		for _, imp := range p.Imports {
			fmt.Fprintf(&b, "  %s --> %s\n", nodeID(p.Path), nodeID(imp))
		}
	}
	for _, p := range pkgs {
		for _, imp := range p.TestImports {
			fmt.Fprintf(&b, "  %s -.-> %s\n", nodeID(p.Path), nodeID(imp))
		}
	}
	b.WriteString("```\n")
	return b.String()
}

// replaceBlock puts block between the markers of doc.
func replaceBlock(doc, block string) (string, error) {
	begin := strings.Index(doc, beginMarker)
	end := strings.Index(doc, endMarker)
	if begin < 0 || end < begin {
		return "", fmt.Errorf("the markers are missing or out of order: the document needs the line %q and, below it, %q", beginMarker, endMarker)
	}
	return doc[:begin+len(beginMarker)] + "\n" + block + doc[end:], nil
}

// unexplained lists the packages the document has no paragraph for.
func unexplained(pkgs []pkg, doc string) []string {
	lines := strings.Split(doc, "\n")
	var missing []string
	for _, p := range pkgs {
		if !slices.Contains(lines, "### `"+label(p)+"`") {
			missing = append(missing, label(p))
		}
	}
	return missing
}
