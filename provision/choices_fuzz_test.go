package provision

import (
	"strings"
	"testing"
)

// FuzzParseChoices: --mesh and --deploy-strategy (also read back from the state file's
// settings) accept exactly their documented values and refuse anything else with one line.
func FuzzParseChoices(f *testing.F) {
	for _, s := range []string{"service-connect", "appmesh", "none", "blue-green", "rolling", "", "AppMesh", "none\n", "rolling "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMeshMode(s)
		valid := s == "service-connect" || s == "appmesh" || s == "none"
		switch {
		case valid && (err != nil || string(m) != s):
			t.Fatalf("ParseMeshMode(%q) = %q, %v", s, m, err)
		case !valid && (err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "invalid --mesh")):
			t.Fatalf("ParseMeshMode(%q) = %q, %v; want one line saying invalid --mesh", s, m, err)
		}
		d, err := ParseDeployStrategy(s)
		valid = s == "blue-green" || s == "rolling"
		switch {
		case valid && (err != nil || string(d) != s):
			t.Fatalf("ParseDeployStrategy(%q) = %q, %v", s, d, err)
		case !valid && (err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "invalid --deploy-strategy")):
			t.Fatalf("ParseDeployStrategy(%q) = %q, %v; want one line saying invalid --deploy-strategy", s, d, err)
		}
	})
}
