package cmd

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/tapctl/tapctl/catalog"
)

func initCommand(opts Options) *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "write a service catalog file (" + catalog.FileName + ") with the built-in services and a comment on every field",
		Description: `Makes no AWS call. It refuses to replace an existing file unless --force is given.

Examples:
   tapctl init
   tapctl init --config services.yaml`,
		Flags: []cli.Flag{
			configFlag(),
			&cli.BoolFlag{Name: "force", Usage: "replace an existing file"},
		},
		Action: func(c *cli.Context) error {
			path, given := configPath(c)
			if !given {
				path = catalog.FileName
			}
			if path == "" {
				return usagef("--config must not be empty")
			}
			flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if c.Bool("force") {
				flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			f, err := os.OpenFile(path, flags, 0o644)
			if errors.Is(err, os.ErrExist) {
				return usagef("%s already exists; edit it, or pass --force to replace it", path)
			}
			if err != nil {
				return fmt.Errorf("writing catalog file %s: %w", path, err)
			}
			if _, err := f.Write(catalog.Template(catalog.Default())); err != nil {
				f.Close()
				return fmt.Errorf("writing catalog file %s: %w", path, err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("writing catalog file %s: %w", path, err)
			}
			fmt.Fprintf(opts.Stdout, "wrote %s with %d services; edit it, then run: tapctl plan --env <name>\n", path, len(catalog.Default()))
			return nil
		},
	}
}
