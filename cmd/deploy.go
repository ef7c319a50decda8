package cmd

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/deploy"
	"github.com/tapctl/tapctl/naming"
)

// Exit codes of deploy and rollback beyond 0, 1 and 2.
const (
	ExitRolledBack = 3 // ECS rolled the deployment back (circuit breaker, alarm) or it failed
	ExitTimedOut   = 4 // the deployment did not end within --timeout; it goes on in ECS
)

func deployCommand(opts Options, envFlag cli.Flag) *cli.Command {
	return &cli.Command{
		Name:   "deploy",
		Before: checkUsage("env", "image"),
		Usage:  "ship a new image of a service: a new task-definition revision that differs only in the image, then follow the deployment",
		Description: `Exit codes: 0 the new revision serves all traffic; 3 ECS rolled it back (the reason is printed);
4 the wait timed out (the deployment goes on in ECS); 1 other errors; 2 bad input.

Examples:
   tapctl deploy --env pr6906 --service payment --image 123456789012.dkr.ecr.us-east-1.amazonaws.com/payment-service-pr6906:v2
   tapctl deploy --env pr6906 --all --image registry.example.com/shop:v2 --no-wait`,
		Flags: []cli.Flag{
			envFlag,
			&cli.StringFlag{Name: "service", Aliases: []string{"s"}, Usage: "the service to deploy"},
			&cli.BoolFlag{Name: "all", Usage: "deploy the same image to every service"},
			&cli.StringFlag{Name: "image", Aliases: []string{"i"}, Usage: "the image reference; required"},
			&cli.DurationFlag{Name: "timeout", Value: 30 * time.Minute, Usage: "how long to follow the deployment"},
			&cli.BoolFlag{Name: "no-wait", Usage: "return once ECS accepted the update"},
			configFlag(),
		},
		Action: func(c *cli.Context) error {
			image := c.String("image")
			if err := catalog.CheckImage(image); err != nil {
				return usagef("invalid --image %w", err)
			}
			if err := checkTimeout(c); err != nil {
				return err
			}
			services, err := chosenServices(c, opts, c.Bool("all"))
			if err != nil {
				return err
			}
			return runDeployment(c, opts, services, func(ctx context.Context, s *session, svc catalog.Service) (deploy.Started, error) {
				return deploy.Deploy(ctx, s.env, svc, image)
			}, true)
		},
	}
}

func rollbackCommand(opts Options, envFlag cli.Flag) *cli.Command {
	return &cli.Command{
		Name:   "rollback",
		Before: checkUsage("env", "service"),
		Usage:  "return a service to the revision that served before the last deploy, then follow the deployment",
		Description: `Exit codes as for deploy. Example:
   tapctl rollback --env pr6906 --service payment`,
		Flags: []cli.Flag{
			envFlag,
			&cli.StringFlag{Name: "service", Aliases: []string{"s"}, Usage: "the service to roll back; required"},
			&cli.DurationFlag{Name: "timeout", Value: 30 * time.Minute, Usage: "how long to follow the deployment"},
			&cli.BoolFlag{Name: "no-wait", Usage: "return once ECS accepted the update"},
			configFlag(),
		},
		Action: func(c *cli.Context) error {
			if err := checkTimeout(c); err != nil {
				return err
			}
			services, err := chosenServices(c, opts, false)
			if err != nil {
				return err
			}
			return runDeployment(c, opts, services, func(ctx context.Context, s *session, svc catalog.Service) (deploy.Started, error) {
				return deploy.Rollback(ctx, s.env, svc)
			}, false)
		},
	}
}

// chosenServices checks --service/--all against the catalog, before any AWS call.
func chosenServices(c *cli.Context, opts Options, all bool) ([]catalog.Service, error) {
	services, err := loadServices(c, opts)
	if err != nil {
		return nil, err
	}
	name := c.String("service")
	if all {
		if name != "" {
			return nil, usagef("use --service or --all, not both")
		}
		return services, nil
	}
	if name != "" {
		if err := naming.ValidateService(name); err != nil {
			return nil, usagef("invalid --service %w", err)
		}
	}
	var known []string
	for _, svc := range services {
		if svc.Name == name {
			return []catalog.Service{svc}, nil
		}
		known = append(known, svc.Name)
	}
	if name == "" {
		return nil, usagef("--service is required (one of %s)", strings.Join(known, ", "))
	}
	return nil, usagef("unknown service %q: the services are %s", name, strings.Join(known, ", "))
}

type starter func(context.Context, *session, catalog.Service) (deploy.Started, error)

func runDeployment(c *cli.Context, opts Options, services []catalog.Service, start starter, forgetOnRollback bool) error {
	if err := checkInputs(c, c.String("env"), services); err != nil {
		return err
	}
	if st, err := openState(c, opts, c.String("env")); err != nil {
		return err
	} else if !st.Exists() {
		return fmt.Errorf("environment %s does not exist (no state file in %s); create it with tapctl up --env %s", c.String("env"), stateWhere(c), c.String("env"))
	}
	s, err := openSession(c, opts, true)
	if err != nil {
		return err
	}
	defer s.close()
	var started []deploy.Started
	for _, svc := range services {
		d, err := start(c.Context, s, svc)
		if err != nil {
			return err
		}
		s.log.Info().Str("service", d.ServiceName).Str("from", d.Previous).Str("to", d.Target).Msg("deployment started")
		started = append(started, d)
	}
	if c.Bool("no-wait") {
		return nil
	}
	// One live line per service being followed, on a terminal; log lines elsewhere.
	progress := s.progress
	var failures []string
	code := ExitOK
	for _, d := range started {
		w := deploy.NewWaiter(s.env.AWS.ECS, s.env.Names.Cluster(), d.ServiceName, d.Target, c.Duration("timeout"))
		w.Progress = func(p deploy.Progress) {
			if !progress.Show(d.ServiceName, deployDetail(p)) {
				s.log.Info().Str("service", p.Service).Str("state", p.State).Str("stage", p.Stage).
					Int32("running", p.Running).Int32("desired", p.Desired).Int32("pending", p.Pending).Msg("deployment progress")
			}
		}
		outcome, err := w.Wait(c.Context)
		progress.Remove(d.ServiceName)
		var timeout deploy.ErrTimeout
		switch {
		case err != nil && asTimeout(err, &timeout):
			failures, code = append(failures, err.Error()), max(code, ExitTimedOut)
		case err != nil:
			return err
		case outcome.Succeeded:
			s.log.Info().Str("service", d.ServiceName).Str("revision", d.Target).Msg("deployment finished: the new revision serves all traffic")
		default:
			if forgetOnRollback && outcome.RolledBack {
				if err := deploy.Forget(c.Context, s.env, d); err != nil {
					return err
				}
			}
			failures = append(failures, fmt.Sprintf("deployment of %s ended %s: %s", d.ServiceName, outcome.Status, outcome.Reason))
			code = max(code, ExitRolledBack)
		}
	}
	if len(failures) > 0 {
		return cli.Exit(strings.Join(failures, "; "), code)
	}
	return nil
}

func asTimeout(err error, target *deploy.ErrTimeout) bool {
	t, ok := err.(deploy.ErrTimeout)
	if ok {
		*target = t
	}
	return ok
}

// deployDetail is a deployment's live line after the service name and elapsed time.
func deployDetail(p deploy.Progress) string {
	stage := p.State
	if p.Stage != "" {
		stage += "/" + p.Stage
	}
	return fmt.Sprintf("%s, %d/%d running, %d pending", stage, p.Running, p.Desired, p.Pending)
}
