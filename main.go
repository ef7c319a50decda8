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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cmd.Run(ctx, os.Args, cmd.Options{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Version: version, Commit: commit})
	stop()
	os.Exit(code)
}
