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
	f, err := loadCatalogFile(c, opts)
	return f.Services, err
}

// loadCatalogFile is loadServices with the file's network section (catalog.DefaultNetwork
// without a file, or in a file without one).
func loadCatalogFile(c *cli.Context, opts Options) (catalog.File, error) {
	path, given := configPath(c)
	if !given {
		if _, err := os.Stat(catalog.FileName); err != nil {
			return catalog.File{Services: catalog.Default(), Network: catalog.DefaultNetwork()}, nil
		}
		path = catalog.FileName
	}
	if path == "" {
		return catalog.File{}, usagef("--config must not be empty")
	}
	f, err := catalog.LoadFile(path)
	var invalid *catalog.InvalidError
	if errors.As(err, &invalid) {
		// Every problem on its own line; Run prints the last one with the exit code.
		last := len(invalid.Problems) - 1
		for _, p := range invalid.Problems[:last] {
			fmt.Fprintln(opts.Stderr, "tapctl: "+p.Error())
		}
		return catalog.File{}, usageError{invalid.Problems[last]}
	}
	return f, err
}
