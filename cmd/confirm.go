package cmd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"

	"github.com/tapctl/tapctl/engine"
)

// interactive reports whether a person can answer a question on stdin.
func interactive(opts Options) bool {
	if opts.Interactive != nil {
		return opts.Interactive()
	}
	f, ok := opts.Stdin.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// confirmDown shows what down would delete (read calls only) and asks, as terraform destroy
// does, for the word "yes".
func confirmDown(ctx context.Context, out io.Writer, in io.Reader, env string, statuses []engine.Status) error {
	var existing []engine.Status
	for _, st := range statuses {
		if st.AWS.Kind != engine.Missing {
			existing = append(existing, st)
		}
	}
	fmt.Fprintf(out, "tapctl down will delete %d resources of environment %s:\n", len(existing), env)
	for _, st := range existing {
		fmt.Fprintf(out, "  - %s  %s  (%s)\n", st.Step, st.Resource, st.AWS)
	}
	// The sweep (teardown/sweep.go) keeps this promise: it deletes what it safely can and names the rest.
	fmt.Fprintf(out, "and anything else tagged %s=%s, %s=%s (what down cannot delete safely, it names at the end).\nOnly 'yes' will be accepted to confirm: ",
		engine.TagEnvironment, env, engine.TagManagedBy, engine.ManagedByValue)
	// Read aside, so that Ctrl-C at the question ends the run at once.
	answered := make(chan string, 1)
	go func() {
		answer, _ := bufio.NewReader(in).ReadString('\n')
		answered <- answer
	}()
	var answer string
	select {
	case <-ctx.Done():
		fmt.Fprintln(out)
		return ctx.Err()
	case answer = <-answered:
	}
	if strings.TrimSpace(answer) != "yes" {
		return usagef("down cancelled: the answer was not 'yes'; nothing was deleted")
	}
	return nil
}
