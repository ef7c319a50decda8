// Package provision is the platform: the steps that make up an environment (one file per kind
// of resource), how they are wired together (Platform, ServiceSteps), the environment's choices,
// outputs and removed services. The engine package runs the steps.
package provision

import (
	"time"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/naming"
)

// Step is one step of the platform, run by the engine with the platform's Env.
type Step = engine.Step[*Env]

// Status is one resource as the state file and AWS see it.
type Status = engine.Status

// Env is everything a step needs: the run (who and where, the log, the state, what changed),
// the clients, the names and the catalog.
type Env struct {
	*engine.Run
	Names naming.Names
	// Partition is the caller's ARN partition: aws, aws-cn or aws-us-gov.
	Partition string
	AWS       *cloud.Clients
	Catalog   []catalog.Service
	Timeouts  Timeouts
	// base, in an overlay environment, is its base environment, read-only (overlay.go).
	base *Env
}

// EngineRun is the run the engine keeps for e.
func (e *Env) EngineRun() *engine.Run { return e.Run }

// WithRun is a copy of e on run r.
func (e *Env) WithRun(r *engine.Run) *Env {
	c := *e
	c.Run = r
	return &c
}

// NewEnv assembles an Env; the summary starts empty.
func NewEnv(name string) *Env {
	return &Env{Run: engine.NewRun(name), Names: naming.Names{Env: name}, Timeouts: DefaultTimeouts()}
}

// Timeouts bound every wait on AWS's asynchronous work, each named for what it bounds.
type Timeouts struct {
	NATGateway            time.Duration // a NAT gateway pending -> available, deleting -> deleted: minutes on AWS
	LoadBalancer          time.Duration // the load balancer provisioning -> active, and until deleted
	InternetGatewayAttach time.Duration // attaching the internet gateway to a VPC just made
	Dependencies          time.Duration // DependencyViolation while ENIs of deleted owners linger
	ServicesStable        time.Duration // ECS services reaching their desired count (--timeout)
	ServiceInactive       time.Duration // an ECS service draining until INACTIVE (--timeout in up)
}

// DefaultTimeouts are generous for AWS; the emulator answers at once.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		NATGateway:            10 * time.Minute,
		LoadBalancer:          10 * time.Minute,
		InternetGatewayAttach: 10 * time.Minute,
		Dependencies:          20 * time.Minute,
		ServicesStable:        20 * time.Minute,
		ServiceInactive:       20 * time.Minute,
	}
}

// Waits poll AWS between these delays: describe calls are cheap, and a low ceiling means a run
// notices within seconds that a NAT gateway, load balancer or service is ready.
const (
	pollMinDelay = time.Second
	pollMaxDelay = 3 * time.Second
)
