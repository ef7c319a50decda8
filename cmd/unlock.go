package cmd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/urfave/cli/v2"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/naming"
	"github.com/tapctl/tapctl/state"
)

func unlockCommand(opts Options, envFlag cli.Flag) *cli.Command {
	return &cli.Command{
		Name:   "unlock",
		Before: checkUsage("env"),
		Usage:  "break the environment's lock on purpose, saying whose it was",
		Description: `For a lock on S3 (--state s3://…) whose run is gone, when waiting for its lease
to end is not an option. A run that still holds the lock notices at its next renewal (a quarter
lease) and stops. A local lock (--state-dir) ends with its process and cannot be broken: unlock
names the process that holds it.

It shows whose lock it is and asks for "yes" on a terminal; scripts pass --yes (without a
terminal and without --yes it refuses before any AWS call).

Examples:
   tapctl --state s3://my-tapctl-state/ci unlock --env pr6906
   TAPCTL_STATE=s3://my-tapctl-state/ci tapctl unlock --env pr6906 --yes`,
		Flags: []cli.Flag{envFlag,
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "break the lock without asking"},
		},
		Action: func(c *cli.Context) error {
			env := c.String("env")
			if err := naming.ValidateEnv(env, nil); err != nil {
				return usageError{err}
			}
			if err := cloud.ValidateRegion(c.String("region")); err != nil {
				return usageError{err}
			}
			if err := cloud.ValidateEndpoint(c.String("endpoint")); err != nil {
				return usageError{err}
			}
			if err := checkStateFlags(c); err != nil {
				return err
			}
			ask := !c.Bool("yes")
			if ask && !interactive(opts) {
				return usagef("unlock breaks the lock of environment %s and there is no terminal to confirm on; pass --yes", env)
			}
			var cfg aws.Config
			if isRemote(c) {
				var err error
				if cfg, err = loadConfig(c, opts); err != nil {
					return err
				}
				if _, err := cloud.Preflight(c.Context, cfg, cloud.NewClients(cfg).STS); err != nil {
					return err
				}
			}
			backend, err := stateBackend(c, cfg)
			if err != nil {
				return err
			}
			h, held, err := state.HolderOf(c.Context, backend, env)
			if err != nil {
				return err
			}
			if !held {
				fmt.Fprintf(opts.Stdout, "environment %s is not locked (%s)\n", env, stateWhere(c))
				return nil
			}
			if ask && isRemote(c) {
				fmt.Fprintf(opts.Stdout, "The lock of environment %s is held by %s.\nA run that still holds it stops at its next renewal. Only 'yes' will be accepted to break it: ", env, describeHolder(h))
				if err := confirmYes(c.Context, opts.Stdout, opts.Stdin); err != nil {
					return err
				}
			}
			h, held, err = state.Break(c.Context, backend, env)
			if err != nil {
				return err
			}
			if !held {
				fmt.Fprintf(opts.Stdout, "environment %s is not locked any more: its holder released it meanwhile\n", env)
				return nil
			}
			fmt.Fprintf(opts.Stdout, "broke the lock of environment %s: it was held by %s\n", env, describeHolder(h))
			return nil
		},
	}
}

// describeHolder is a lock's holder in one phrase: who, which process, since when, and (S3)
// until when the lease runs.
func describeHolder(h state.HolderInfo) string {
	who := h.Holder
	if who == "" {
		who = "host " + h.Host
	}
	if h.PID != 0 {
		who += fmt.Sprintf(" (pid %d)", h.PID)
	}
	s := fmt.Sprintf("%s, since %s", who, h.Started.UTC().Format(time.RFC3339))
	if !h.Expires.IsZero() {
		s += fmt.Sprintf(", leased until %s (%s)", h.Expires.UTC().Format(time.RFC3339), h.Where)
	}
	return s
}

// confirmYes waits for the word "yes" on in; Ctrl-C ends the wait at once.
func confirmYes(ctx context.Context, out io.Writer, in io.Reader) error {
	answered := make(chan string, 1)
	go func() {
		answer, _ := bufio.NewReader(in).ReadString('\n')
		answered <- answer
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(out)
		return ctx.Err()
	case answer := <-answered:
		if strings.TrimSpace(answer) != "yes" {
			return usagef("unlock cancelled: the answer was not 'yes'; the lock is left as it is")
		}
	}
	return nil
}
