// Command tapctl provisions a complete ECS Fargate microservices platform on AWS with direct
// SDK calls, one isolated environment per pull request: tapctl up --env pr6906.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tapctl/tapctl/cmd"
)

// Set at build time: go build -ldflags "-X main.version=v1.2.3 -X main.commit=abc123".
var (
	version = "dev"
	commit  = "none"
)

func main() {
	// Ctrl-C or a CI cancel stops new calls; the state file already holds everything created.
	// The signal is the context's cause: Run says how far the run got and exits 128 + its number.
	ctx, cancel := context.WithCancelCause(context.Background())
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-signals
		// A second signal ends tapctl at once (the default action): the state file is whole at
		// every instant, and a hung wait should not need kill -9.
		signal.Stop(signals)
		cancel(cmd.Interrupted{Signal: sig})
	}()
	code := cmd.Run(ctx, os.Args, cmd.Options{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Version: version, Commit: commit})
	os.Exit(code)
}
