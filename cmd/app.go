// Package cmd is tapctl's command line: flags, commands and exit codes. It checks every input
// before the first AWS call, then hands the work to provision/ and teardown/.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/smithy-go/middleware"
	"github.com/urfave/cli/v2"

	"github.com/tapctl/tapctl/engine"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1
	ExitUsage = 2
)

// Options let tests run the real command line in-process.
type Options struct {
	Stdout, Stderr io.Writer
	// Stdin answers questions (down's confirmation); Interactive, when set, says whether a
	// person is there (tests), else Stdin must be a terminal.
	Stdin       io.Reader
	Interactive func() bool
	// APIOptions are extra SDK middlewares (tests count or capture calls with them).
	APIOptions []func(*middleware.Stack) error
	// Version and Commit are set by the build.
	Version, Commit string
	// AttemptTimeout bounds each attempt of an AWS call; zero means cloud.DefaultAttemptTimeout.
	// Tests shorten it to meet a silent endpoint in seconds.
	AttemptTimeout time.Duration

	// progress starts the live progress lines; nil is newProgress. Tests of this package
	// give a ticking one on a fake terminal, to see that every path closes it.
	progress func(io.Writer) *liveProgress
}

// usageError marks bad input: reported in one line with exit code 2.
type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// Run executes tapctl with args (args[0] is the program name) and returns the exit code.
// When ctx is cancelled with an Interrupted cause, a run that did not finish ends with one line
// saying how far it got, and 128 + the signal's number.
func Run(ctx context.Context, args []string, opts Options) int {
	app := newApp(opts)
	// urfave/cli answers an unknown command ("tapctl frobnicate", "tapctl help frobnicate")
	// with exit code 3; it is bad input like any other.
	var unknown error
	app.CommandNotFound = func(c *cli.Context, name string) { unknown = unknownCommand(c.App, name) }
	ctx, changes := withRunChanges(ctx)
	ctx, loss := withLockLoss(ctx)
	err := app.RunContext(ctx, args)
	if err == nil {
		err = unknown
	}
	if err == nil {
		return ExitOK
	}
	if line := loss.line(changes); line != "" {
		fmt.Fprintln(opts.Stderr, "tapctl: "+line)
		return ExitError
	}
	if sig, ok := interruption(ctx); ok {
		fmt.Fprintln(opts.Stderr, "tapctl: "+changes.interruptedLine())
		return sig.exitCode()
	}
	if foreign := engine.ForeignErrors(err); len(foreign) > 0 {
		// One line per resource that is not the environment's, and nothing else: the rest of
		// the error repeats them.
		for _, f := range foreign {
			fmt.Fprintln(opts.Stderr, "tapctl: "+oneLine(f.Error()))
		}
		return ExitError
	}
	lines := failureLines(err, changes.changing)
	fmt.Fprintln(opts.Stderr, "tapctl: "+lines[0])
	for _, line := range lines[1:] {
		fmt.Fprintln(opts.Stderr, line)
	}
	var ue usageError
	if errors.As(err, &ue) {
		return ExitUsage
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return ExitError
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func unknownCommand(app *cli.App, name string) error {
	var names []string
	for _, c := range app.VisibleCommands() {
		names = append(names, c.Name)
	}
	return usagef("unknown command %q: the commands are %s (tapctl --help says what each does)", name, strings.Join(names, ", "))
}

// flagExamples complete the message for a missing flag.
var flagExamples = map[string]string{
	"env":     "--env pr6906",
	"image":   "--image registry.example.com/shop:v2",
	"service": "--service payment",
}

// checkUsage runs before each command's action: it refuses stray arguments (a command without
// ArgsUsage takes none) and the missing required flags. urfave/cli's own Required flags print
// the command's help on stdout and exit 1; here, as for all bad input, it is one line and exit 2.
func checkUsage(required ...string) cli.BeforeFunc {
	return func(c *cli.Context) error {
		if first := c.Args().First(); first == "help" || first == "h" {
			return nil // urfave/cli's help subcommand of every command: tapctl up help
		}
		if c.Command.ArgsUsage == "" && c.Args().Present() {
			return usagef("%s takes no arguments, got %q (flags after it are not read); see tapctl %s --help",
				c.Command.Name, strings.Join(c.Args().Slice(), " "), c.Command.Name)
		}
		for _, name := range required {
			if !c.IsSet(name) {
				return usagef("%s needs --%s (for example %s)", c.Command.Name, name, flagExamples[name])
			}
		}
		return nil
	}
}

func newApp(opts Options) *cli.App {
	// -v is --verbose here, as in most CLIs; the version flag keeps its long name only.
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version"}
	cli.VersionPrinter = func(c *cli.Context) { printVersion(c.App.Writer, opts) }
	envFlag := &cli.StringFlag{Name: "env", Aliases: []string{"e"}, Usage: "environment name, e.g. pr6906 (lowercase letters, digits, hyphens); required"}
	app := &cli.App{
		Name:      "tapctl",
		Usage:     "provision and remove a complete ECS Fargate microservices platform on AWS, one environment per pull request",
		Version:   opts.Version,
		Writer:    opts.Stdout,
		ErrWriter: opts.Stderr,
		// Errors are printed once, by Run, as one line.
		ExitErrHandler:       func(*cli.Context, error) {},
		EnableBashCompletion: true,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "region", Usage: "AWS region (default: the AWS config chain, else us-east-1)", EnvVars: []string{"TAPCTL_REGION"}},
			&cli.StringFlag{Name: "endpoint", Usage: "override every AWS service endpoint, e.g. http://127.0.0.1:4566 (AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> also work)"},
			&cli.StringFlag{Name: "log-format", Usage: "console or json (default: console on a terminal, json otherwise)", EnvVars: []string{"TAPCTL_LOG_FORMAT"}},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "debug logging"},
			configFlag(),
		}, stateFlags()...),
		Commands: []*cli.Command{
			upCommand(opts, envFlag),
			downCommand(opts, envFlag),
			statusCommand(opts, envFlag),
			outputsCommand(opts, envFlag),
			deployCommand(opts, envFlag),
			rollbackCommand(opts, envFlag),
			planCommand(opts, envFlag),
			initCommand(opts),
			listCommand(opts),
			graphCommand(opts),
			versionCommand(opts),
			completionCommand(opts),
			unlockCommand(opts, envFlag),
			stateCommand(opts),
		},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error { return usageError{err} },
	}
	for _, c := range app.Commands {
		c.OnUsageError = app.OnUsageError
		if c.Before == nil {
			c.Before = checkUsage()
		}
	}
	return app
}
