package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	"github.com/aws/smithy-go/middleware"
	"github.com/urfave/cli/v2"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/provision"
)

// ExitChanges is plan's exit code when up would change something, as terraform plan
// -detailed-exitcode answers; bad input also exits 2, told apart by its "tapctl:" line.
const ExitChanges = 2

// planSummary counts the changes, as terraform's "Plan: 1 to add, 2 to change, 0 to destroy."
type planSummary struct {
	Add     int `json:"add"`
	Change  int `json:"change"`
	Destroy int `json:"destroy"`
}

// planReport is plan's --output json.
type planReport struct {
	Env     string          `json:"env"`
	Region  string          `json:"region"`
	Changes []engine.Change `json:"changes"`
	Summary planSummary     `json:"summary"`
}

func planCommand(opts Options, envFlag cli.Flag) *cli.Command {
	return &cli.Command{
		Name:   "plan",
		Before: checkUsage("env"),
		Usage:  "show what up would create, update or delete, resource by resource, with read calls only",
		Description: `plan reads the environment and the state file and never changes either: every mutating
AWS call is stopped before it is sent, and the state file is not written. It takes no lock.

Exit codes: 0 nothing would change; 2 up would change something (like terraform plan
-detailed-exitcode); 1 an error. Bad input also exits 2, with a "tapctl:" line on stderr.

Examples:
   tapctl plan --env pr6906
   tapctl plan --env pr6906 --config services.yaml --output json | jq '.changes[] | select(.action == "delete")'`,
		Flags: []cli.Flag{
			envFlag,
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", Usage: "table or json"},
			configFlag(),
			parallelismFlag(),
			&cli.StringFlag{Name: "mesh", Usage: "plan for this --mesh of up (default: the environment's earlier choice, else service-connect)"},
			&cli.StringFlag{Name: "deploy-strategy", Usage: "plan for this --deploy-strategy of up"},
			&cli.DurationFlag{Name: "bake-time", Usage: "plan for this --bake-time of up"},
		},
		Action: func(c *cli.Context) error {
			format := c.String("output")
			if format != "table" && format != "json" {
				return usagef("invalid --output %q: use table or json", format)
			}
			if err := checkChoiceFlags(c); err != nil {
				return err
			}
			if err := checkParallelism(c); err != nil {
				return err
			}
			// Every client of this session refuses mutating calls: plan cannot change AWS.
			readOnly := opts
			readOnly.APIOptions = append([]func(*middleware.Stack) error{cloud.RefuseMutations}, opts.APIOptions...)
			s, err := openSession(c, readOnly, false)
			if err != nil {
				return err
			}
			defer s.close()
			choices := resolveChoices(s, c)
			removed, err := provision.RemovedServices(c.Context, s.env, s.env.Catalog)
			if err != nil {
				return err
			}
			defer s.finish("plan")
			changes, err := provision.Plan(c.Context, s.env, provision.Platform(s.env.Catalog, choices), removed, choices, c.Int("parallelism"))
			if err != nil {
				return err
			}
			report := planReport{Env: s.env.Name, Region: s.env.Region, Changes: changes}
			for _, ch := range changes {
				switch ch.Action {
				case engine.Create:
					report.Summary.Add++
				case engine.Update:
					report.Summary.Change++
				case engine.Delete:
					report.Summary.Destroy++
				}
			}
			if report.Changes == nil {
				report.Changes = []engine.Change{}
			}
			if format == "json" {
				enc := json.NewEncoder(opts.Stdout)
				enc.SetIndent("", "  ")
				err = enc.Encode(report)
			} else {
				err = printPlan(opts.Stdout, report)
			}
			if err != nil {
				return err
			}
			if len(changes) > 0 {
				return cli.Exit(fmt.Sprintf("plan: %d to add, %d to change, %d to destroy; tapctl up --env %s applies it",
					report.Summary.Add, report.Summary.Change, report.Summary.Destroy, s.env.Name), ExitChanges)
			}
			return nil
		},
	}
}

var planSymbols = map[engine.Action]string{engine.Create: "+ create", engine.Update: "~ update", engine.Delete: "- delete"}

// printPlan writes the plan as terraform users read one: a line per resource, the values an
// update would set beneath it, and the counts.
func printPlan(w io.Writer, r planReport) error {
	if len(r.Changes) == 0 {
		_, err := fmt.Fprintf(w, "No changes. Environment %s matches the catalog.\n", r.Env)
		return err
	}
	fmt.Fprintf(w, "tapctl up --env %s would:\n\n", r.Env)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, ch := range r.Changes {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", planSymbols[ch.Action], ch.Step, ch.Resource)
		if ch.Operation != "" {
			fmt.Fprintf(tw, "  \t\tcall: %s\n", ch.Operation)
		}
		keys := make([]string, 0, len(ch.Fields))
		for k := range ch.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			v, _ := json.Marshal(ch.Fields[k])
			fmt.Fprintf(tw, "  \t\t%s = %s\n", k, v)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nPlan: %d to add, %d to change, %d to destroy.\n", r.Summary.Add, r.Summary.Change, r.Summary.Destroy)
	return err
}
