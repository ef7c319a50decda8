package cmd

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/tapctl/tapctl/catalog"
)

// configFlag names the service catalog file. It is both a global flag and a flag of the
// commands that read the catalog, so "tapctl --config f up" and "tapctl up --config f" both work.
func configFlag() cli.Flag {
	return &cli.StringFlag{Name: "config", EnvVars: []string{"TAPCTL_CONFIG"},
		Usage: "service catalog file (default: ./" + catalog.FileName + " when present, else the built-in three services)"}
}

// configPath is the --config value given on the command or before it, if any.
func configPath(c *cli.Context) (string, bool) {
	// Each context of the lineage answers for its own flags: the command's first, then the app's.
	for _, x := range c.Lineage() {
		if x.IsSet("config") {
			return x.String("config"), true
		}
	}
	return "", false
}

// loadServices reads the catalog: the --config file, else ./tapctl.yaml when it exists, else
// the built-in one. A file with problems is refused before any AWS call, one line per problem.
func loadServices(c *cli.Context, opts Options) ([]catalog.Service, error) {
	path, given := configPath(c)
	if !given {
		if _, err := os.Stat(catalog.FileName); err != nil {
			return catalog.Default(), nil
		}
		path = catalog.FileName
	}
	if path == "" {
		return nil, usagef("--config must not be empty")
	}
	services, err := catalog.Load(path)
	var invalid *catalog.InvalidError
	if errors.As(err, &invalid) {
		// Every problem on its own line; Run prints the last one with the exit code.
		last := len(invalid.Problems) - 1
		for _, p := range invalid.Problems[:last] {
			fmt.Fprintln(opts.Stderr, "tapctl: "+p.Error())
		}
		return nil, usageError{invalid.Problems[last]}
	}
	return services, err
}
