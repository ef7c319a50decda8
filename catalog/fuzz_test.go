package catalog

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse: no input makes the catalog reader panic; every refusal is a list of problems, each
// one line naming the file, and what it accepts passes its own checks again.
func FuzzParse(f *testing.F) {
	f.Add(Template(Default()))
	f.Add([]byte("services:\n  - name: a\n    priority: 1\n"))
	f.Add([]byte("services:\n  - name: a\n    priority: 1\n    cpu: 3\n    environment: {A: 1}\n"))
	f.Add([]byte("services: [{name: x, priority: 99999999999}]"))
	f.Add([]byte("\t- :"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		services, err := Parse("tapctl.yaml", raw)
		if err != nil {
			var invalid *InvalidError
			if !errors.As(err, &invalid) || len(invalid.Problems) == 0 {
				t.Fatalf("refusal is not a list of problems: %v", err)
			}
			for _, p := range invalid.Problems {
				line := p.Error()
				if !strings.HasPrefix(line, "tapctl.yaml") || strings.Contains(line, "\n") {
					t.Fatalf("problem is not one line naming the file: %q", line)
				}
			}
			return
		}
		if len(services) == 0 {
			t.Fatal("an accepted catalog has no service")
		}
		if _, err := Parse("tapctl.yaml", Template(services)); err != nil {
			t.Fatalf("an accepted catalog written back is refused: %v", err)
		}
	})
}
