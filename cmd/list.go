package cmd

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/inventory"
)

func listCommand(opts Options) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list every tapctl environment of the account and region, found by its tags (read calls only)",
		Description: `Finds environments by the tags ManagedBy=tapctl and Environment on their resources, not by
state files, so it also shows the forgotten environments of closed pull requests made on another
machine. Needs no --env and takes no lock. CREATED is when the environment's database secret was
created; MESH is its cluster's Mesh tag ("-" for clusters made before tapctl set it); RESOURCES
counts its live tagged resources (the KMS key, pending deletion for 7 days after down, and
task-definition revisions are not counted); EXPIRES is when tapctl gc may delete it (set by
up --ttl; "-" without one), "(passed)" once that time is behind.

Examples:
   tapctl list
   tapctl --region eu-west-1 list --output json | jq -r '.[] | select(.name | startswith("pr")) | .name'`,
		Flags: []cli.Flag{outputFlag()},
		Action: func(c *cli.Context) error {
			asJSON, err := jsonOutput(c)
			if err != nil {
				return err
			}
			if err := cloud.ValidateRegion(c.String("region")); err != nil {
				return usageError{err}
			}
			if err := cloud.ValidateEndpoint(c.String("endpoint")); err != nil {
				return usageError{err}
			}
			region, envs, err := findEnvironments(c, opts)
			if err != nil {
				return err
			}
			now := time.Now()
			return printPerEnvironment(opts, asJSON, region, envs, "ENVIRONMENT\tCREATED\tAGE\tMESH\tRESOURCES\tEXPIRES\tBASE",
				func(e inventory.Environment) string {
					created, age := "-", "-"
					if e.Created != nil {
						created = e.Created.Format("2006-01-02 15:04 UTC")
						age = formatAge(time.Since(*e.Created))
					}
					mesh := e.Mesh
					if mesh == "" {
						mesh = "-"
					}
					name, base := e.Name, "-"
					if e.Base != "" {
						name, base = "  "+e.Name, e.Base // under its base
					}
					return fmt.Sprintf("%s\t%s\t%s\t%s\t%d\t%s\t%s", name, created, age, mesh, e.Resources, formatExpiry(e, now), base)
				})
		},
	}
}

// formatAge: "45m", "5h", "3d4h".
func formatAge(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	days := int(d.Hours()) / 24
	return fmt.Sprintf("%dd%dh", days, int(d.Hours())-24*days)
}

// formatExpiry is list's EXPIRES: "2026-11-28 09:12 UTC", with "(passed)" once gc may delete it.
func formatExpiry(e inventory.Environment, now time.Time) string {
	if e.Expires == nil {
		return "-"
	}
	s := e.Expires.UTC().Format("2006-01-02 15:04 UTC")
	if e.Expired(now) {
		s += " (passed)"
	}
	return s
}

// findEnvironments lists the environments of the account and region as list and gc see them:
// the preflight, then one inventory.Find.
func findEnvironments(c *cli.Context, opts Options) (region string, envs []inventory.Environment, err error) {
	cfg, err := loadConfig(c, opts)
	if err != nil {
		return "", nil, err
	}
	clients := cloud.NewClients(cfg)
	if _, err := cloud.Preflight(c.Context, cfg, clients.STS); err != nil {
		return "", nil, err
	}
	envs, err = inventory.Find(c.Context, clients, cfg.Region)
	return cfg.Region, envs, err
}

// printPerEnvironment ends list and gc: the rows as JSON (an empty list, never null), or a table
// under header, one line a row; when there is none, stderr says so and names the region.
func printPerEnvironment[R any](opts Options, asJSON bool, region string, rows []R, header string, line func(R) string) error {
	if asJSON {
		if rows == nil {
			rows = []R{}
		}
		return printJSON(opts.Stdout, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintf(opts.Stderr, "no tapctl environment in %s\n", region)
		return nil
	}
	tw := tabwriter.NewWriter(opts.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, line(r))
	}
	return tw.Flush()
}
