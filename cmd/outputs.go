package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/tapctl/tapctl/provision"
)

func outputsCommand(opts Options, envFlag cli.Flag) *cli.Command {
	return &cli.Command{
		Name:   "outputs",
		Before: checkUsage("env"),
		Usage:  "print the environment's outputs (VPC, cluster, load balancer DNS, ECR repositories) from its state file",
		Description: `Makes no AWS call. Examples:
   tapctl outputs --env pr6906
   tapctl outputs --env pr6906 --output json | jq -r .LoadBalancerDns`,
		Flags: []cli.Flag{envFlag, outputFlag(), &cli.BoolFlag{Name: "json", Usage: "same as --output json"}, configFlag()},
		Action: func(c *cli.Context) error {
			asJSON, err := jsonOutput(c)
			if err != nil {
				return err
			}
			services, err := loadServices(c, opts)
			if err != nil {
				return err
			}
			if err := checkInputs(c, c.String("env"), services); err != nil {
				return err
			}
			st, err := openState(c, opts, c.String("env"))
			if err != nil {
				return err
			}
			if !st.Exists() {
				return fmt.Errorf("environment %s has no state file in %s; run tapctl up --env %s", c.String("env"), stateWhere(c), c.String("env"))
			}
			return printOutputs(opts.Stdout, provision.Outputs(st, services), asJSON)
		},
	}
}

func printOutputs(w io.Writer, outputs []provision.Output, asJSON bool) error {
	if asJSON {
		m := map[string]string{}
		for _, o := range outputs {
			m[o.Name] = o.Value
		}
		return printJSON(w, m)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OUTPUT\tVALUE")
	for _, o := range outputs {
		fmt.Fprintf(tw, "%s\t%s\n", o.Name, o.Value)
	}
	return tw.Flush()
}

// outputFlag is --output of the commands that print data: status, outputs, list.
func outputFlag() cli.Flag {
	return &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", Usage: "table or json"}
}

// jsonOutput checks --output (and the older --json) before any other work.
func jsonOutput(c *cli.Context) (bool, error) {
	switch format := c.String("output"); format {
	case "json":
		return true, nil
	case "table":
		return c.Bool("json"), nil
	default:
		return false, usagef("invalid --output %q: use table or json", format)
	}
}

// printJSON writes v indented, for jq and people alike.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
