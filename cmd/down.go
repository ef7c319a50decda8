package cmd

import (
	"github.com/urfave/cli/v2"

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
			down, err := teardown.Prepare(c.Context, s.env, teardown.Options{Choices: rememberedChoices(s), Parallelism: c.Int("parallelism")})
			if err != nil {
				return err
			}
			if ask {
				statuses, err := down.Resources(c.Context)
				if err != nil {
					return err
				}
				if err := confirmDown(c.Context, opts.Stdout, opts.Stdin, s.env.Name, statuses); err != nil {
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
