package cmd

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Runs in one process share nothing through urfave/cli's package variables: each prints its own
// version and its own help, side by side (go test -race checks the rest).
func TestRunsSideBySideKeepTheirOwnOptions(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			version := fmt.Sprintf("v0.0.%d", i)
			for _, args := range [][]string{{"tapctl", "--version"}, {"tapctl", "up", "--help"}, {"tapctl", "help", "up"}, {"tapctl", "up", "help"}, {"tapctl", "help"}, {"tapctl", "version"}} {
				var stdout, stderr bytes.Buffer
				code := Run(context.Background(), args, Options{Stdout: &stdout, Stderr: &stderr, Version: version, Commit: "c0ffee1"})
				if code != ExitOK {
					t.Errorf("%v: exit %d: %s", args, code, stderr.String())
					continue
				}
				want := "--env" // the help of up
				switch {
				case args[1] == "--version" || args[1] == "version":
					want = "tapctl " + version + " "
				case len(args) == 2: // tapctl help
					want = "COMMANDS:"
				}
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("%v with version %s printed %q, want %q in it", args, version, stdout.String(), want)
				}
			}
		}()
	}
	wg.Wait()
}
