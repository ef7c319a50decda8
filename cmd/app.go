// Package cmd is tapctl's command line: flags, commands and exit codes. It checks every input
// before the first AWS call, then hands the work to provision/ and teardown/.
package cmd

import (
	"context"
	"errors"
	"flag"
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

// urfave/cli keeps its help and version flags, its version printer and its help command in
// package variables, and writes to them as it sets up each App: the flags' default values, the
// help command's name and separator. Runs in one process (the tests run tapctl in-process, side
// by side) would race on them. The variables are set once, here, to flags that apply a copy of
// themselves; the version printer finds each run's Options in its App; and every App and
// Command gets a help command of its own (helpCommand).
func init() {
	// -v is --verbose here, as in most CLIs; the version flag keeps its long name only.
	cli.VersionFlag = sharedBoolFlag{&cli.BoolFlag{Name: "version", Usage: "print the version"}}
	cli.HelpFlag = sharedBoolFlag{&cli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show help", DisableDefaultText: true}}
	cli.VersionPrinter = func(c *cli.Context) { printVersion(c.App.Writer, c.App.Metadata[optionsKey].(Options)) }

	// urfave/cli's help command is unexported: a throw-away App set up once hands it over.
	probe := &cli.App{Writer: io.Discard, ErrWriter: io.Discard}
	probe.Setup()
	for _, c := range probe.Commands {
		if c.Name == "help" {
			helpTemplate = *c
		}
	}
	helpTemplate.HelpName = ""          // each copy is named by the App or Command that takes it in
	helpTemplate.HideHelpCommand = true // else running it takes in the shared one as its own subcommand
}

// helpTemplate is urfave/cli's help command, as it is before any App takes it in.
var helpTemplate cli.Command

// helpCommand is a copy of urfave/cli's help command for one App or Command.
func helpCommand() *cli.Command {
	c := helpTemplate
	return &c
}

// optionsKey holds a run's Options in its App's Metadata, for the version printer.
const optionsKey = "tapctl.options"

// sharedBoolFlag is a flag every App and Command of the process shares: it applies a copy of
// itself, so that no run writes to it.
type sharedBoolFlag struct{ *cli.BoolFlag }

func (f sharedBoolFlag) Apply(set *flag.FlagSet) error {
	own := *f.BoolFlag
	return own.Apply(set)
}

// GetDefaultText keeps DisableDefaultText working: urfave/cli only reads it from a *cli.BoolFlag.
func (f sharedBoolFlag) GetDefaultText() string {
	if f.DisableDefaultText {
		return ""
	}
	return f.BoolFlag.GetDefaultText()
}

func newApp(opts Options) *cli.App {
	envFlag := &cli.StringFlag{Name: "env", Aliases: []string{"e"}, Usage: "environment name, e.g. pr6906 (lowercase letters, digits, hyphens); required"}
	app := &cli.App{
		Name:      "tapctl",
		Usage:     "provision and remove a complete ECS Fargate microservices platform on AWS, one environment per pull request",
		Version:   opts.Version,
		Metadata:  map[string]any{optionsKey: opts},
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
			gcCommand(opts),
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
		// urfave/cli takes its help command in as a command's only subcommand when the command
		// runs; given before, it would make "tapctl help up" print the subcommand help page.
		if len(c.Subcommands) == 0 && c.CustomHelpTemplate == "" {
			c.CustomHelpTemplate = cli.CommandHelpTemplate
		}
		c.Subcommands = append(c.Subcommands, helpCommand())
	}
	// With a help command of its own, the App does not take in the help flag by itself.
	app.Commands = append(app.Commands, helpCommand())
	app.Flags = append(app.Flags, cli.HelpFlag)
	return app
}
