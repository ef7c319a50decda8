package state

import (
	"os"
	"path/filepath"
	"strings"
)

// Temporary files of one environment, as os.CreateTemp names them ("*" becomes decimal digits):
// the atomic writer's copy of the state file and the room probe. A run killed while it held one
// leaves it behind.
func tempPatterns(env string) []string {
	return []string{tempPattern(stateFileName(env)), probePattern(env)}
}

func stateFileName(env string) string { return env + ".json" }

// tempPattern names the atomic writer's temporary copy of the file called name.
func tempPattern(name string) string { return "." + name + ".tmp-*" }

// probePattern names the room probe's file; it carries the environment so that only the
// holder of that environment's lock ever removes it.
func probePattern(env string) string { return "." + env + ".write-probe-*" }

// removeLeftovers deletes the temporary files of env in dir and returns their names. Only the
// holder of env's lock calls it, so no live run is writing them. Only regular files go: a link
// named like one is left alone (os.Remove would unlink the link, never its target, but it is not
// ours), and so is anything of another environment or not named exactly as tapctl names them.
func removeLeftovers(dir, env string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		// Type comes from the directory entry (lstat), so a link is never followed here.
		if !e.Type().IsRegular() || !isTempOf(e.Name(), env) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
			removed = append(removed, e.Name())
		}
	}
	return removed
}

// isTempOf reports a name made by os.CreateTemp from one of env's patterns.
func isTempOf(name, env string) bool {
	for _, pattern := range tempPatterns(env) {
		prefix := strings.TrimSuffix(pattern, "*")
		if random, ok := strings.CutPrefix(name, prefix); ok && random != "" && strings.Trim(random, "0123456789") == "" {
			return true
		}
	}
	return false
}
