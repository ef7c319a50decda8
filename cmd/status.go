package cmd

import (
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/provision"
)

func statusCommand(opts Options, envFlag cli.Flag) *cli.Command {
	return &cli.Command{
		Name:   "status",
		Before: checkUsage("env"),
		Usage:  "show each resource: the ID the state file holds and what AWS says now (read calls only)",
		Description: `Examples:
   tapctl status --env pr6906
   tapctl status --env pr6906 --output json | jq '.[] | select(.aws == "missing")'`,
		Flags: []cli.Flag{
			envFlag,
			outputFlag(),
			configFlag(),
		},
		Action: func(c *cli.Context) error {
			asJSON, err := jsonOutput(c)
			if err != nil {
				return err
			}
			s, err := openSession(c, opts, false)
			if err != nil {
				return err
			}
			defer s.close()
			statuses, err := engine.Inspect(c.Context, s.env, provision.Platform(s.env.Catalog, rememberedChoices(s)))
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(opts.Stdout, statuses)
			}
			tw := tabwriter.NewWriter(opts.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "STEP\tRESOURCE\tSTATE FILE\tAWS")
			for _, st := range statuses {
				id := st.StateID
				if id == "" {
					id = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", st.Step, st.Resource, id, st.AWS)
			}
			return tw.Flush()
		},
	}
}
