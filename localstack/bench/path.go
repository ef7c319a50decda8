package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/localstack"
	"github.com/tapctl/tapctl/provision"
)

// The critical-path bound: the longest chain through the step graph, each step costing its own
// calls (counted per step by the binary at -v) times the latency, plus the waits the timing
// model makes AWS's work take (localstack.Figures, scaled by the factor). It is what the run
// would take with unlimited parallelism and no time lost between calls.
//
// Up (a fresh one): the NAT gateway's step waits for it to be available, the namespace's for its
// operation; nothing waits for the load balancer on the way, and the serving step ends when the
// last service's tasks run (ECSServiceRun after its step) and the load balancer is active
// (ALBProvisioning after its step), whichever is later, plus the health checks.
// Down: each service drains (ServiceDrain), the NAT gateway is deleting (NATDeleting), and the
// subnets and groups wait for the interfaces of the deleted load balancer (ALBInterfaces) and
// tasks (TaskInterfaces) to go.

// link is one stretch of the critical path: a step's calls, or a wait.
type link struct {
	what string
	d    time.Duration
}

type pathModel struct {
	r       run
	latency time.Duration
	factor  float64
	down    bool
	// oldOrder models the order before issue 17: the load balancer's step waited for it to be
	// active, and health checks began after that.
	oldOrder bool
}

func (m pathModel) wait(seconds float64) time.Duration {
	return time.Duration(seconds * m.factor * float64(time.Second))
}

func criticalPath(r run, latency time.Duration, factor float64, down bool) time.Duration {
	bound, _ := pathModel{r: r, latency: latency, factor: factor, down: down}.chain()
	return bound
}

// chain is the bound and the chain of links that makes it, first to last.
func (m pathModel) chain() (time.Duration, []link) {
	choices := provision.DefaultChoices()
	choices.Base = m.r.base
	steps := provision.Platform(catalog.Default(), choices)
	ordered, _ := engine.Order(steps)
	f := localstack.Figures
	fresh := !m.down && m.r.name == "fresh up"
	calls := func(name string) time.Duration { return time.Duration(m.r.stepCalls[name]) * m.latency }

	end := map[string]time.Duration{}
	prev := map[string][]link{} // the chain that ends with each step
	// after starts a step once its predecessors (with their extra waits) are done.
	type pred struct {
		step  string
		extra time.Duration
		why   string
	}
	start := func(preds []pred) (time.Duration, []link) {
		var at time.Duration
		var chain []link
		for _, p := range preds {
			if t := end[p.step] + p.extra; t > at || chain == nil {
				at = t
				chain = append([]link(nil), prev[p.step]...)
				if p.extra > 0 {
					chain = append(chain, link{p.why, p.extra})
				}
			}
		}
		return at, chain
	}
	add := func(name string, preds []pred, own time.Duration, waitWhy string, wait time.Duration) {
		at, chain := start(preds)
		chain = append(chain, link{fmt.Sprintf("%s (%d calls)", name, m.r.stepCalls[name]), own})
		if wait > 0 {
			chain = append(chain, link{waitWhy, wait})
		}
		end[name], prev[name] = at+own+wait, chain
	}

	if !m.down {
		for _, s := range ordered {
			var preds []pred
			for _, d := range s.DependsOn() {
				preds = append(preds, pred{step: d})
			}
			name, own := s.Name(), calls(s.Name())
			switch {
			case fresh && name == "nat-gateway":
				add(name, preds, own, "NAT gateway pending", m.wait(f.NATPending))
			case fresh && name == "namespace":
				add(name, preds, own, "Cloud Map namespace operation", m.wait(f.NamespaceOperation))
			case fresh && name == "alb" && m.oldOrder:
				add(name, preds, own, "load balancer provisioning", m.wait(f.ALBProvisioning))
			case fresh && name == "serving":
				// Targets are healthy HealthChecks after both their task runs and the load
				// balancer is active.
				for _, d := range s.DependsOn() {
					switch {
					case d == "alb" && !m.oldOrder:
						preds = append(preds, pred{d, m.wait(f.ALBProvisioning), "load balancer provisioning"})
					case strings.HasSuffix(d, "/ecs-service"):
						preds = append(preds, pred{d, m.wait(f.ECSServiceRun), "ECS tasks starting"})
					}
				}
				at, chain := start(preds)
				chain = append(chain, link{"health checks", m.wait(f.HealthChecks)}, link{"serving (its last call)", m.latency})
				end[name], prev[name] = at+m.wait(f.HealthChecks)+m.latency, chain
			default:
				add(name, preds, own, "", 0)
			}
		}
	} else {
		dependents := map[string][]string{}
		for _, s := range ordered {
			for _, d := range engine.DownDependsOn(s) {
				dependents[d] = append(dependents[d], s.Name())
			}
		}
		for _, s := range engine.Reverse(ordered) {
			name := s.Name()
			var preds []pred
			for _, d := range dependents[name] {
				preds = append(preds, pred{step: d})
			}
			// The interfaces of the deleted load balancer and tasks hold subnets and groups.
			if name == "subnets" || name == "alb-security-group" {
				preds = append(preds, pred{"alb", m.wait(f.ALBInterfaces), "load balancer's interfaces lingering"})
			}
			if name == "subnets" || name == "task-security-group" {
				for svc := range end {
					if strings.HasSuffix(svc, "/ecs-service") {
						preds = append(preds, pred{svc, m.wait(f.TaskInterfaces), "tasks' interfaces lingering"})
					}
				}
			}
			switch {
			case strings.HasSuffix(name, "/ecs-service"):
				add(name, preds, calls(name), "service draining", m.wait(f.ServiceDrain))
			case name == "nat-gateway":
				add(name, preds, calls(name), "NAT gateway deleting", m.wait(f.NATDeleting))
			default:
				add(name, preds, calls(name), "", 0)
			}
		}
	}
	var bound time.Duration
	var chain []link
	for name, d := range end {
		if d > bound || d == bound && chain == nil {
			bound, chain = d, prev[name]
		}
	}
	// The credentials check before the first step.
	return bound + m.latency, append([]link{{"credentials check", m.latency}}, chain...)
}

// describeChain writes the chain as a numbered list, skipping steps that cost nothing.
func describeChain(chain []link) string {
	var b strings.Builder
	var at time.Duration
	i := 0
	for _, l := range chain {
		if l.d == 0 {
			continue
		}
		at += l.d
		i++
		fmt.Fprintf(&b, "%d. %s: %s (at %s)\n", i, l.what, l.d.Round(10*time.Millisecond), at.Round(10*time.Millisecond))
	}
	return b.String()
}
