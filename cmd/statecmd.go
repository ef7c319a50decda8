package cmd

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/state"
)

func stateCommand(opts Options) *cli.Command {
	initCmd := &cli.Command{
		Name:      "init",
		ArgsUsage: "s3://BUCKET",
		Usage:     "create an S3 bucket fit for tapctl's state (versioning, default encryption, public access blocked), or check an existing one",
		Description: `Creates the bucket in the region (--region) with versioning on (every state a run
replaced or deleted stays recoverable), default encryption with S3 managed keys (SSE-S3), all four
public access block settings on, and the tag ManagedBy=tapctl, then reads the settings back. A
bucket that exists is accepted when it has versioning, default encryption and public access
blocked, and refused otherwise, naming what it lacks; tapctl does not change a bucket it did not
make. Run again after an interruption: it finishes its own bucket.

Examples:
   tapctl --region eu-west-1 state init s3://acme-tapctl-state
   tapctl --state s3://acme-tapctl-state/ci up --env pr6906`,
		OnUsageError: func(_ *cli.Context, err error, _ bool) error { return usageError{err} },
		Before: func(c *cli.Context) error {
			if c.Args().Len() != 1 {
				return usagef("state init takes one argument, the bucket: tapctl state init s3://BUCKET")
			}
			return nil
		},
		Action: func(c *cli.Context) error {
			loc, err := state.ParseS3URL(c.Args().First())
			if err != nil {
				return usageError{err}
			}
			if err := cloud.ValidateRegion(c.String("region")); err != nil {
				return usageError{err}
			}
			if err := cloud.ValidateEndpoint(c.String("endpoint")); err != nil {
				return usageError{err}
			}
			cfg, err := loadConfig(c, opts)
			if err != nil {
				return err
			}
			if _, err := cloud.Preflight(c.Context, cfg, cloud.NewClients(cfg).STS); err != nil {
				return err
			}
			r, err := state.InitBucket(c.Context, cloud.NewS3(cfg), loc.Bucket, cfg.Region)
			if err != nil {
				return err
			}
			verb := "bucket %s is fit for tapctl's state"
			if r.Created {
				verb = "created bucket %s for tapctl's state"
			}
			fmt.Fprintf(opts.Stdout, verb+" in %s: versioning on, default encryption %s, public access blocked\n", r.Bucket, cfg.Region, r.Encryption)
			use := loc
			if use.Prefix == "" {
				use.Prefix = "tapctl"
			}
			fmt.Fprintf(opts.Stdout, "use it with: tapctl --state %s up --env ENV   (or TAPCTL_STATE=%s)\n", use, use)
			return nil
		},
	}
	return &cli.Command{
		Name:  "state",
		Usage: "set up where tapctl keeps its state (tapctl state init s3://BUCKET)",
		Description: `Examples:
   tapctl state init s3://acme-tapctl-state`,
		Subcommands: []*cli.Command{initCmd},
		Before:      func(*cli.Context) error { return nil }, // the subcommand checks its own arguments
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("unknown state subcommand %q: the subcommand is init (tapctl state init s3://BUCKET)", c.Args().First())
			}
			return usagef("state needs a subcommand: tapctl state init s3://BUCKET")
		},
	}
}
