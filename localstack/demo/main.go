// Command demo starts the emulator, runs tapctl up against it, shows status, and tears the
// environment down again: what `make demo` runs.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"

	"github.com/tapctl/tapctl/localstack"
)

func main() {
	bin := flag.String("tapctl", "bin/tapctl", "path to the tapctl binary")
	env := flag.String("env", "demo", "environment name")
	keep := flag.Bool("keep", false, "leave the environment and the emulator running until Ctrl-C")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	emu, err := localstack.Start(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo: cannot start the emulator:", err)
		os.Exit(1)
	}
	defer emu.Stop()
	// The harness's proxy in front of moto: it answers target health, which moto does not
	// model (its tasks never register with a target group), so up can see the platform serve.
	proxy, err := localstack.StartProxy(emu.URL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo: cannot start the proxy:", err)
		os.Exit(1)
	}
	defer proxy.Close()
	fmt.Printf("demo: emulator (moto %s) on %s, through the harness's proxy on %s\n", localstack.MotoVersion, emu.URL, proxy.URL)

	stateDir, err := os.MkdirTemp("", "tapctl-demo-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(stateDir)

	run := func(args ...string) {
		full := append([]string{"--endpoint", proxy.URL, "--state-dir", stateDir, "--log-format", "console"}, args...)
		fmt.Printf("\n$ tapctl %s\n", joinArgs(args))
		cmd := exec.CommandContext(ctx, *bin, full...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=demo", "AWS_SECRET_ACCESS_KEY=demo", "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true")
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "demo: tapctl %s: %v\n", joinArgs(args), err)
			emu.Stop()
			os.Exit(1)
		}
	}
	run("up", "--env", *env)
	run("up", "--env", *env)
	run("status", "--env", *env)
	if *keep {
		fmt.Printf("\ndemo: environment %s is up on %s; Ctrl-C to stop\n", *env, proxy.URL)
		<-ctx.Done()
		return
	}
	run("down", "--yes", "--env", *env)
}

func joinArgs(args []string) string {
	out := ""
	for i, a := range args {
		if i > 0 {
			out += " "
		}
		out += a
	}
	return out
}
