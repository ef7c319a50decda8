package cmd

import (
	"reflect"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/naming"
	"github.com/tapctl/tapctl/provision"
	"github.com/tapctl/tapctl/state"
)

func upCommand(opts Options, envFlag cli.Flag) *cli.Command {
	return &cli.Command{
		Name:   "up",
		Before: checkUsage("env"),
		Usage:  "create the environment, or bring it back to the SPEC (idempotent: a converged environment costs only reads)",
		Description: `Examples:
   tapctl up --env pr6906
   tapctl --region eu-west-1 up --env pr6906 --timeout 30m
   tapctl --endpoint http://127.0.0.1:5000 up --env demo --no-wait
   tapctl up --env pr6906 --ttl 72h     # tapctl gc may delete it 72 hours after this run`,
		Flags: []cli.Flag{
			envFlag,
			&cli.DurationFlag{Name: "timeout", Value: 20 * time.Minute, Usage: "how long to wait for the environment to serve: services at their count, load balancer active, targets healthy"},
			&cli.BoolFlag{Name: "no-wait", Usage: "return without waiting for the ECS services"},
			parallelismFlag(),
			configFlag(),
			&cli.StringFlag{Name: "mesh", Usage: "service-connect, appmesh (legacy) or none (default: the environment's earlier choice, else service-connect)"},
			&cli.StringFlag{Name: "deploy-strategy", Usage: "blue-green or rolling (default: the environment's earlier choice, else blue-green)"},
			&cli.DurationFlag{Name: "bake-time", Usage: "blue/green bake time, whole minutes (default: the environment's earlier choice, else 5m)"},
			ttlFlag(),
			&cli.StringFlag{Name: "base", Usage: "make an overlay environment on the environment `NAME`'s network, cluster and load balancer (README, \"Overlay environments\"); remembered"},
		},
		Action: func(c *cli.Context) error {
			if err := checkChoiceFlags(c); err != nil {
				return err
			}
			if err := checkParallelism(c); err != nil {
				return err
			}
			if err := checkTimeout(c); err != nil {
				return err
			}
			ttl, err := checkTTL(c)
			if err != nil {
				return err
			}
			if err := checkBaseFlag(c); err != nil {
				return err
			}
			s, err := openSession(c, opts, true)
			if err != nil {
				return err
			}
			defer s.close()
			if err := useBase(s, c); err != nil {
				return err
			}
			// --timeout bounds every wait on the ECS services: running their count, and draining
			// one that is being replaced.
			s.env.Timeouts.ServicesStable = c.Duration("timeout")
			s.env.Timeouts.ServiceInactive = c.Duration("timeout")
			s.env.Wait = !c.Bool("no-wait")
			choices := resolveChoices(s, c)
			mesh := choices.Mesh
			if choices.Base != "" {
				// The base is found by its tags, complete, before anything is created.
				if err := provision.CheckBase(c.Context, s.env); err != nil {
					return err
				}
			}
			if mesh == provision.MeshAppMesh {
				// Decided by the API's answer before anything is created.
				if err := provision.CheckAppMesh(c.Context, s.env); err != nil {
					return err
				}
			}
			if err := s.env.State.SetSetting(provision.SettingRegion, s.env.Region); err != nil {
				return err
			}
			if err := s.env.State.SetSetting(provision.SettingAccount, s.env.Account); err != nil {
				return err
			}
			if err := rememberChoices(s, choices); err != nil {
				return err
			}
			s.log.Info().Str("region", s.env.Region).Str("mesh", string(mesh)).Msg("bringing environment up")
			steps := provision.Platform(s.env.Catalog, choices)
			if ttl > 0 {
				// Counted from the run's start; the tag goes on the secret (provision/expiry.go says why).
				steps = append(steps, provision.ExpiryStep(s.started.Add(ttl)))
			}
			// Every resource up would touch is proven the environment's before the first change.
			if err := engine.Claim(c.Context, s.env, steps, c.Int("parallelism")); err != nil {
				s.finish("up (refused)")
				return err
			}
			// A new VPC or Elastic IP must fit in the region's quota (provision/quotas.go); an
			// existing environment's up makes no call here.
			if err := provision.CheckHeadroom(c.Context, s.env, steps); err != nil {
				s.finish("up (refused)")
				return err
			}
			if err := removeServices(c, s, choices); err != nil {
				s.finish("up (failed)")
				return err
			}
			if err := engine.Apply(c.Context, s.env, steps, c.Int("parallelism")); err != nil {
				s.finish("up (failed)")
				return err
			}
			s.finish("up")
			return printOutputs(opts.Stdout, provision.Outputs(s.env.State, s.env.Catalog), false)
		},
	}
}

// checkChoiceFlags validates --mesh, --deploy-strategy and --bake-time before any AWS call.
func checkChoiceFlags(c *cli.Context) error {
	if c.IsSet("mesh") {
		if _, err := provision.ParseMeshMode(c.String("mesh")); err != nil {
			return usageError{err}
		}
	}
	if c.IsSet("deploy-strategy") {
		if _, err := provision.ParseDeployStrategy(c.String("deploy-strategy")); err != nil {
			return usageError{err}
		}
	}
	if c.IsSet("bake-time") {
		if d := c.Duration("bake-time"); d < 0 || d > 24*time.Hour || d%time.Minute != 0 {
			return usagef("invalid --bake-time %s: whole minutes from 0m to 1440m", d)
		}
	}
	return nil
}

// resolveChoices takes each flag when given, else the environment's remembered choice, else
// the default. Flags were checked before the session opened.
func resolveChoices(s *session, c *cli.Context) provision.Choices {
	ch := rememberedChoices(s)
	ch.Base = s.env.BaseName() // --base, applied by useBase, or the remembered one
	if c != nil && c.IsSet("mesh") {
		ch.Mesh, _ = provision.ParseMeshMode(c.String("mesh"))
	}
	if c != nil && c.IsSet("deploy-strategy") {
		ch.Strategy, _ = provision.ParseDeployStrategy(c.String("deploy-strategy"))
	}
	if c != nil && c.IsSet("bake-time") {
		ch.BakeTime = c.Duration("bake-time")
	}
	if s.network != nil {
		if ch.Base != "" && !reflect.DeepEqual(*s.network, catalog.DefaultNetwork()) {
			// The base's network serves the overlay: the base's tapctl.yaml sets it.
			s.log.Warn().Str("base", ch.Base).Msg("the network section of the catalog file is ignored: an overlay environment runs on its base's network")
		}
		ch.Network = *s.network
	}
	return ch
}

// rememberedChoices are the choices the state file holds, defaults where it holds none.
func rememberedChoices(s *session) provision.Choices {
	ch := storedChoices(s.env.State)
	ch.Base = s.env.BaseName() // remembered, or found by its tags (openEnvSession)
	return ch
}

// storedChoices are the choices a state file holds, defaults where it holds none.
func storedChoices(st *state.Store) provision.Choices {
	ch := provision.DefaultChoices()
	if m, err := provision.ParseMeshMode(st.Setting(provision.SettingMesh)); err == nil {
		ch.Mesh = m
	}
	if d, err := provision.ParseDeployStrategy(st.Setting(provision.SettingDeployStrategy)); err == nil {
		ch.Strategy = d
	}
	if b, err := time.ParseDuration(st.Setting(provision.SettingBakeTime)); err == nil {
		ch.BakeTime = b
	}
	ch.Base = st.Setting(provision.SettingBase)
	if n, err := provision.ParseNetworkSetting(st.Setting(provision.SettingNetwork)); err == nil {
		ch.Network = n
	}
	return ch
}

func rememberChoices(s *session, ch provision.Choices) error {
	settings := map[string]string{
		provision.SettingMesh: string(ch.Mesh), provision.SettingDeployStrategy: string(ch.Strategy), provision.SettingBakeTime: ch.BakeTime.String(),
	}
	if ch.Base != "" {
		settings[provision.SettingBase] = ch.Base
	} else {
		settings[provision.SettingNetwork] = provision.NetworkSetting(ch.Network)
	}
	for name, value := range settings {
		if err := s.env.State.SetSetting(name, value); err != nil {
			return err
		}
	}
	return nil
}

// removeServices deletes the resources of services that left the catalog, before anything is
// created, so a freed rule priority can be taken by a new service. The state file lists every
// service the environment may still have until their deletion is done, so an interrupted run
// still knows what to remove.
func removeServices(c *cli.Context, s *session, choices provision.Choices) error {
	removed, err := provision.RemovedServices(c.Context, s.env, s.env.Catalog)
	if err != nil {
		return err
	}
	current := catalog.Names(s.env.Catalog)
	if err := provision.RememberServices(s.env.State, catalog.Names(provision.WithRemoved(s.env.Catalog, removed))); err != nil {
		return err
	}
	if err := provision.RemoveServices(c.Context, s.env, removed, choices, c.Int("parallelism")); err != nil {
		return err
	}
	return provision.RememberServices(s.env.State, current)
}

// defaultParallelism is how many steps run at once unless --parallelism says otherwise.
const defaultParallelism = 10

func parallelismFlag() cli.Flag {
	return &cli.IntFlag{Name: "parallelism", Value: defaultParallelism, Usage: "how many steps may run at once (1: one after another)"}
}

// checkTimeout: a wait bounded by zero or less would end before it starts.
func checkTimeout(c *cli.Context) error {
	if d := c.Duration("timeout"); d <= 0 {
		return usagef("invalid --timeout %s: the longest wait must be more than 0 (--no-wait skips the wait)", d)
	}
	return nil
}

func checkParallelism(c *cli.Context) error {
	if n := c.Int("parallelism"); n < 1 || n > 100 {
		return usagef("invalid --parallelism %d: use 1 to 100", n)
	}
	return nil
}

// checkBaseFlag checks --base before any AWS call: an environment name, not the environment's own.
func checkBaseFlag(c *cli.Context) error {
	if !c.IsSet("base") {
		return nil
	}
	base := c.String("base")
	if err := naming.ValidateEnv(base, nil); err != nil {
		return usagef("invalid --base: %v", err)
	}
	if base == c.String("env") {
		return usagef("invalid --base %s: an environment cannot be its own base", base)
	}
	if mesh, _ := provision.ParseMeshMode(c.String("mesh")); c.IsSet("mesh") && mesh == provision.MeshAppMesh {
		return usagef("an overlay environment uses Service Connect or no mesh: --mesh appmesh needs an isolated environment")
	}
	return nil
}

// useBase makes the session's environment an overlay of --base. An environment keeps what it
// is: an overlay never moves to another base, an isolated environment never becomes an overlay.
func useBase(s *session, c *cli.Context) error {
	if !c.IsSet("base") {
		return nil
	}
	base, recorded := c.String("base"), s.env.BaseName()
	switch {
	case recorded == base:
		return nil
	case recorded != "":
		return usagef("environment %s is an overlay of %s; it cannot move to --base %s (take it down first)", s.env.Name, recorded, base)
	case len(s.env.State.Keys()) > 0:
		return usagef("environment %s is an isolated environment with resources of its own; --base %s applies to a new environment only", s.env.Name, base)
	}
	s.env.UseBase(base)
	return nil
}
