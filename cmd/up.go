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
			&cli.StringFlag{Name: "mesh", Usage: "service-connect, appmesh (legacy) or none (default: the environment's earlier choice, else service-connect)"},
		},
		Action: func(c *cli.Context) error {
			if c.IsSet("mesh") {
				if _, err := provision.ParseMeshMode(c.String("mesh")); err != nil {
					return usageError{err}
				}
			}
			s, err := openSession(c, opts, true)
			if err != nil {
				return err
			}
			defer s.close()
			s.env.Timeouts.Services = c.Duration("timeout")
			s.env.Wait = !c.Bool("no-wait")
			mesh := meshMode(s, c.String("mesh"))
			if mesh == provision.MeshAppMesh {
				// Decided by the API's answer before anything is created.
				if err := provision.CheckAppMesh(c.Context, s.env); err != nil {
					return err
				}
			}
			if err := s.env.State.SetSetting("region", s.env.Region); err != nil {
				return err
			}
			if err := s.env.State.SetSetting(provision.SettingMesh, string(mesh)); err != nil {
				return err
			}
			s.log.Info().Str("region", s.env.Region).Str("mesh", string(mesh)).Msg("bringing environment up")
			if err := provision.Apply(c.Context, s.env, provision.Platform(s.env.Catalog, mesh)); err != nil {
				s.finish("up (failed)")
				return err
			}
			s.finish("up")
			return printOutputs(opts.Stdout, provision.Outputs(s.env.State, s.env.Catalog), false)
		},
	}
}

// meshMode is the --mesh flag when given, else the environment's remembered choice, else the
// default. The flag value was checked before the session opened.
func meshMode(s *session, flag string) provision.MeshMode {
	if flag == "" {
		flag = s.env.State.Setting(provision.SettingMesh)
	}
	if m, err := provision.ParseMeshMode(flag); err == nil {
		return m
	}
	return provision.MeshServiceConnect
}
