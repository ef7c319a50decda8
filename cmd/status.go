package cmd

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/tapctl/tapctl/provision"
)

func statusCommand(opts Options, envFlag cli.Flag) *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show each resource: the ID the state file holds and what AWS says now (read calls only)",
		Description: `Examples:
   tapctl status --env pr6906
   tapctl status --env pr6906 --output json | jq '.[] | select(.aws == "missing")'`,
		Flags: []cli.Flag{
			envFlag,
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", Usage: "table or json"},
			configFlag(),
		},
		Action: func(c *cli.Context) error {
			format := c.String("output")
			if format != "table" && format != "json" {
				return usagef("invalid --output %q: use table or json", format)
			}
			s, err := openSession(c, opts, false)
			if err != nil {
				return err
			}
			defer s.close()
			statuses, err := provision.Inspect(c.Context, s.env, provision.Platform(s.env.Catalog, rememberedChoices(s)))
			if err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(opts.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(statuses)
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
