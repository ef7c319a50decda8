package cmd

import (
	"github.com/urfave/cli/v2"

	"github.com/tapctl/tapctl/provision"
	"github.com/tapctl/tapctl/teardown"
)

func downCommand(opts Options, envFlag cli.Flag) *cli.Command {
	return &cli.Command{
		Name:  "down",
		Usage: "delete every resource of the environment, then its state file",
		Description: `Resources are found by the state file's IDs, else by their tags, so down also
works when the state file was lost. Running it again after an interruption resumes.

Examples:
   tapctl down --env pr6906
   tapctl --region eu-west-1 down --env pr6906`,
		Flags: []cli.Flag{envFlag, parallelismFlag()},
		Action: func(c *cli.Context) error {
			if err := checkParallelism(c); err != nil {
				return err
			}
			s, err := openSession(c, opts, true)
			if err != nil {
				return err
			}
			defer s.close()
			s.log.Info().Str("region", s.env.Region).Msg("tearing environment down")
			if err := teardown.Run(c.Context, s.env, provision.Platform(s.env.Catalog, rememberedChoices(s)), c.Int("parallelism")); err != nil {
				s.finish("down (failed)")
				return err
			}
			s.finish("down")
			return nil
		},
	}
}
