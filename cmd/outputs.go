package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/tapctl/tapctl/provision"
	"github.com/tapctl/tapctl/state"
)

func outputsCommand(opts Options, envFlag cli.Flag) *cli.Command {
	return &cli.Command{
		Name:  "outputs",
		Usage: "print the environment's outputs (VPC, cluster, load balancer DNS, ECR repositories) from its state file",
		Description: `Makes no AWS call. Examples:
   tapctl outputs --env pr6906
   tapctl outputs --env pr6906 --json | jq -r .LoadBalancerDns`,
		Flags: []cli.Flag{envFlag, &cli.BoolFlag{Name: "json", Usage: "one JSON object, for scripts"}, configFlag()},
		Action: func(c *cli.Context) error {
			services, err := loadServices(c, opts)
			if err != nil {
				return err
			}
			if err := checkInputs(c, services); err != nil {
				return err
			}
			st, err := state.Open(c.String("state-dir"), c.String("env"))
			if err != nil {
				return err
			}
			if !st.Exists() {
				return fmt.Errorf("environment %s has no state file in %s; run tapctl up --env %s", c.String("env"), c.String("state-dir"), c.String("env"))
			}
			return printOutputs(opts.Stdout, provision.Outputs(st, services), c.Bool("json"))
		},
	}
}

func printOutputs(w io.Writer, outputs []provision.Output, asJSON bool) error {
	if asJSON {
		m := map[string]string{}
		for _, o := range outputs {
			m[o.Name] = o.Value
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OUTPUT\tVALUE")
	for _, o := range outputs {
		fmt.Fprintf(tw, "%s\t%s\n", o.Name, o.Value)
	}
	return tw.Flush()
}
