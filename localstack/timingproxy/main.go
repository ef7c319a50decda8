// Command timingproxy serves the harness's timing model (localstack/timing*.go) in front of any
// AWS emulator, so that any AWS client can be measured through it: the AWS CLI, another tool,
// tapctl itself.
//
//	go run ./localstack/timingproxy -upstream http://127.0.0.1:5000 -factor 0.1 -latency 50ms -listen 127.0.0.1:4600
//	AWS_ENDPOINT_URL=http://127.0.0.1:4600 aws ec2 describe-nat-gateways
//
// At factor 1 a new NAT gateway is pending 90 s, a load balancer provisions 150 s, a Cloud Map
// namespace operation takes 45 s, ECS tasks run 120 s after their service is made and their
// targets turn healthy after the load balancer's health checks; on the way down services drain,
// NAT gateways stay deleting and interfaces linger. The proxy answers target health for the
// target groups ECS services name, which emulators do not model. It is not strict: it answers
// what the emulator answers, later.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tapctl/tapctl/localstack"
)

func main() {
	upstream := flag.String("upstream", "", "the emulator's URL, e.g. http://127.0.0.1:5000 (required)")
	factor := flag.Float64("factor", 1, "scale of AWS's slow transitions: 1 is AWS's figures, 0 turns them off")
	latency := flag.Duration("latency", 50*time.Millisecond, "latency added to every call")
	listen := flag.String("listen", "127.0.0.1:0", "the address to serve on")
	trace := flag.Bool("trace", false, "print a line per call: when it arrived, its service and operation, status, time taken")
	flag.Parse()
	if *upstream == "" || flag.NArg() > 0 || *factor < 0 || *latency < 0 {
		fmt.Fprintln(os.Stderr, "timingproxy: -upstream URL is required; -factor and -latency must not be negative")
		flag.Usage()
		os.Exit(2)
	}
	p, err := localstack.ServeTimingProxy(*listen, *upstream, localstack.Timing{Latency: *latency, Factor: *factor})
	if err != nil {
		fmt.Fprintln(os.Stderr, "timingproxy:", err)
		os.Exit(1)
	}
	p.Strict.Store(false) // the emulator's own answers, only later
	if *trace {
		p.Trace = os.Stdout
	}
	fmt.Printf("timingproxy: %s -> %s, factor %g, latency %s\n", p.URL, *upstream, *factor, *latency)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	p.Close()
}
