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
}

// usageError marks bad input: reported in one line with exit code 2.
type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// Run executes tapctl with args (args[0] is the program name) and returns the exit code.
// When ctx is cancelled with an Interrupted cause, a run that did not finish ends with one line
// saying how far it got, and 128 + the signal's number.
func Run(ctx context.Context, args []string, opts Options) int {
	app := newApp(opts)
	ctx, changes := withRunChanges(ctx)
	err := app.RunContext(ctx, args)
	if err == nil {
		return ExitOK
	}
	if sig, ok := interruption(ctx); ok {
		fmt.Fprintln(opts.Stderr, "tapctl: "+changes.interruptedLine())
		return sig.exitCode()
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

func newApp(opts Options) *cli.App {
	// -v is --verbose here, as in most CLIs; the version flag keeps its long name only.
	cli.VersionFlag = &cli.BoolFlag{Name: "version", Usage: "print the version"}
	cli.VersionPrinter = func(c *cli.Context) { printVersion(c.App.Writer, opts) }
	envFlag := &cli.StringFlag{Name: "env", Aliases: []string{"e"}, Usage: "environment name, e.g. pr6906 (lowercase letters, digits, hyphens)", Required: true}
	app := &cli.App{
		Name:      "tapctl",
		Usage:     "provision and remove a complete ECS Fargate microservices platform on AWS, one environment per pull request",
		Version:   opts.Version,
		Writer:    opts.Stdout,
		ErrWriter: opts.Stderr,
		// Errors are printed once, by Run, as one line.
		ExitErrHandler:       func(*cli.Context, error) {},
		EnableBashCompletion: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "region", Usage: "AWS region (default: the AWS config chain, else us-east-1)", EnvVars: []string{"TAPCTL_REGION"}},
			&cli.StringFlag{Name: "endpoint", Usage: "override every AWS service endpoint, e.g. http://127.0.0.1:4566 (AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> also work)"},
			&cli.StringFlag{Name: "state-dir", Value: ".tapctl", Usage: "directory of the state files", EnvVars: []string{"TAPCTL_STATE_DIR"}},
			&cli.StringFlag{Name: "log-format", Usage: "console or json (default: console on a terminal, json otherwise)", EnvVars: []string{"TAPCTL_LOG_FORMAT"}},
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "debug logging"},
			configFlag(),
		},
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
		},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error { return usageError{err} },
	}
	for _, c := range app.Commands {
		c.OnUsageError = app.OnUsageError
	}
	return app
}
