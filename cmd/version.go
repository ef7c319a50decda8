package cmd

import (
	"fmt"
	"io"
	"runtime/debug"

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

// printVersion writes "tapctl v1.2.3 (commit abc1234)". Unstamped builds (go install, go
// build) fall back on what Go recorded: the module version and the VCS revision.
func printVersion(w io.Writer, opts Options) {
	version, commit := opts.Version, opts.Commit
	if info, ok := debug.ReadBuildInfo(); ok {
		if (version == "" || version == "dev") && info.Main.Version != "" && info.Main.Version != "(devel)" {
			version = info.Main.Version
		}
		for _, setting := range info.Settings {
			if setting.Key == "vcs.revision" && (commit == "" || commit == "none") {
				commit = setting.Value[:min(len(setting.Value), 12)]
			}
		}
	}
	if version == "" {
		version = "dev"
	}
	if commit == "" {
		commit = "none"
	}
	fmt.Fprintf(w, "tapctl %s (commit %s)\n", version, commit)
}
