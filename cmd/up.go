package cmd

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tapctl/tapctl/provision"
)

func upCommand(opts Options, envFlag cli.Flag) *cli.Command {
	return &cli.Command{
		Name:  "up",
		Usage: "create the environment, or bring it back to the SPEC (idempotent: a converged environment costs only reads)",
		Description: `Examples:
   tapctl up --env pr6906
   tapctl --region eu-west-1 up --env pr6906 --timeout 30m
   tapctl --endpoint http://127.0.0.1:5000 up --env demo --no-wait`,
		Flags: []cli.Flag{
			envFlag,
			&cli.DurationFlag{Name: "timeout", Value: 20 * time.Minute, Usage: "how long to wait for the ECS services to run their desired count"},
			&cli.BoolFlag{Name: "no-wait", Usage: "return without waiting for the ECS services"},
		},
		Action: func(c *cli.Context) error {
			s, err := openSession(c, opts, true)
			if err != nil {
				return err
			}
			defer s.close()
			s.env.Timeouts.Services = c.Duration("timeout")
			s.env.Wait = !c.Bool("no-wait")
			if err := s.env.State.SetSetting("region", s.env.Region); err != nil {
				return err
			}
			s.log.Info().Str("region", s.env.Region).Msg("bringing environment up")
			if err := provision.Apply(c.Context, s.env, provision.Platform(s.env.Catalog)); err != nil {
				s.finish("up (failed)")
				return err
			}
			s.finish("up")
			return printOutputs(opts.Stdout, provision.Outputs(s.env.State, s.env.Catalog), false)
		},
	}
}
