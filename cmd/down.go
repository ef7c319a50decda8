package cmd

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/teardown"
)

func downCommand(opts Options, envFlag cli.Flag) *cli.Command {
	return &cli.Command{
		Name:   "down",
		Before: checkUsage("env"),
		Usage:  "delete every resource of the environment, then its state file",
		Description: `Resources are found by the state file's IDs, else by their tags, so down also
works when the state file was lost. Running it again after an interruption resumes.

After the platform's resources, down asks the tagging API for anything else tagged
Environment=E, ManagedBy=tapctl: it deletes what holds nothing else (log groups, alarms,
secrets, ECR repositories, target groups, security groups, free Elastic IPs, task definitions,
scalable targets, KMS keys) and names the rest, one line each, ending with exit 1 and the
state file kept.

It shows what it will delete and asks for "yes" on a terminal; scripts and CI pass --yes
(without a terminal and without --yes it refuses before any AWS call).

Examples:
   tapctl down --env pr6906
   tapctl down --env pr6906 --yes
   tapctl --region eu-west-1 down --env pr6906`,
		Flags: []cli.Flag{envFlag, parallelismFlag(), configFlag(),
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "delete without asking"},
			&cli.BoolFlag{Name: "cascade", Usage: "a base environment: take down the overlay environments that use it first (each entirely)"},
		},
		Action: func(c *cli.Context) error {
			if err := checkParallelism(c); err != nil {
				return err
			}
			ask := !c.Bool("yes")
			if ask && !interactive(opts) {
				return usagef("down deletes every resource of environment %s and there is no terminal to confirm on; pass --yes", c.String("env"))
			}
			s, err := openSession(c, opts, true)
			if err != nil {
				return err
			}
			defer s.close()
			downOpts := teardown.Options{Choices: rememberedChoices(s), Parallelism: c.Int("parallelism"), Cascade: c.Bool("cascade")}
			down, err := teardown.Prepare(c.Context, s.env, downOpts)
			if err != nil {
				return err
			}
			if ask {
				statuses, err := down.Resources(c.Context)
				if err != nil {
					return err
				}
				if len(down.Overlays) > 0 {
					fmt.Fprintf(opts.Stdout, "tapctl down --cascade will first take down, entirely, the overlay environments on %s: %s\n", s.env.Name, strings.Join(down.Overlays, ", "))
				}
				if err := confirmDown(c.Context, opts.Stdout, opts.Stdin, s.env.Name, statuses); err != nil {
					return err
				}
			}
			if len(down.Overlays) > 0 {
				for _, overlay := range down.Overlays {
					if err := downOverlay(c, opts, overlay, s.env.Name); err != nil {
						s.finish("down (failed)")
						return fmt.Errorf("taking overlay %s of %s down first: %w", overlay, s.env.Name, err)
					}
				}
				// What the base's load balancer holds changed: read it afresh.
				if down, err = teardown.Prepare(c.Context, engine.Rediscover(s.env), downOpts); err != nil {
					return err
				}
			}
			s.log.Info().Str("region", s.env.Region).Msg("tearing environment down")
			if err := down.Run(c.Context); err != nil {
				s.finish("down (failed)")
				return err
			}
			s.finish("down")
			return nil
		},
	}
}

// downOverlay takes one overlay of base down, in a session of its own (its lock and state), for
// down --cascade of the base.
func downOverlay(c *cli.Context, opts Options, overlay, base string) error {
	s, err := openEnvSession(c.Context, c, opts, sessionSetup{env: overlay}, true)
	if err != nil {
		return err
	}
	defer s.close()
	if s.env.BaseName() == "" {
		s.env.UseBase(base) // found by its listener on the base, whatever its state file holds
	}
	s.log.Info().Str("base", base).Msg("tearing overlay environment down first (down --cascade of its base)")
	down, err := teardown.Prepare(s.ctx, s.env, teardown.Options{Choices: rememberedChoices(s), Parallelism: c.Int("parallelism")})
	if err != nil {
		return err
	}
	if err := down.Run(s.ctx); err != nil {
		s.finish("down (failed)")
		return err
	}
	s.finish("down")
	return nil
}
