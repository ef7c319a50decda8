package cmd

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"
)

func versionCommand(opts Options) *cli.Command {
	return &cli.Command{
		Name:        "version",
		Usage:       "print tapctl's version and the commit it was built from",
		Description: "Same as tapctl --version. Makes no AWS call.",
		Action: func(c *cli.Context) error {
			printVersion(opts.Stdout, opts)
			return nil
		},
	}
}

// printVersion writes "tapctl v1.2.3 (commit abc1234)"; a plain `go build` says dev and none.
func printVersion(w io.Writer, opts Options) {
	version, commit := opts.Version, opts.Commit
	if version == "" {
		version = "dev"
	}
	if commit == "" {
		commit = "none"
	}
	fmt.Fprintf(w, "tapctl %s (commit %s)\n", version, commit)
}
