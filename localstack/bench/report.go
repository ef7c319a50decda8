package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/tapctl/tapctl/localstack"
)

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// report is one factor's section: the table, the speed-ups of parallelism, issue 17's targets,
// and the critical paths of a fresh up and a down at the default parallelism.
func report(runs []run, latency time.Duration, factor float64, baseline *run, baselineRev string) string {
	f := localstack.Figures
	var b strings.Builder
	fmt.Fprintf(&b, "\n## Factor %g: %s per call; NAT gateway pending %.1f s, load balancer provisioning %.1f s, Cloud Map operation %.2f s, ECS tasks running after %.1f s, targets healthy %.1f s after both; down: services draining %.1f s, NAT gateway deleting %.1f s, interfaces lingering %.1f s (load balancer) and %.1f s (tasks)\n\n",
		factor, latency, f.NATPending*factor, f.ALBProvisioning*factor, f.NamespaceOperation*factor, f.ECSServiceRun*factor, f.HealthChecks*factor,
		f.ServiceDrain*factor, f.NATDeleting*factor, f.ALBInterfaces*factor, f.TaskInterfaces*factor)
	b.WriteString("| run | parallelism | wall time | mutating calls | read calls | peak memory | critical-path bound | wall / bound |\n|---|---|---|---|---|---|---|---|\n")
	byKey := map[string]run{}
	row := func(r run) {
		bound := criticalPath(r, latency, factor, strings.HasPrefix(r.name, "down"))
		fmt.Fprintf(&b, "| %s | %d | %s | %d | %d | %.1f MB | %s | %.2f |\n", r.name, r.parallelism, r.wall.Round(10*time.Millisecond),
			r.mutating, r.reads, r.peakMB, bound.Round(10*time.Millisecond), float64(r.wall)/float64(bound))
	}
	for _, r := range runs {
		byKey[fmt.Sprintf("%s/%d", r.name, r.parallelism)] = r
		row(r)
	}
	if baseline != nil {
		baseline.parallelism = 10
		row(*baseline)
	}
	b.WriteString("\n")
	for _, name := range []string{"fresh up", "no-change up", "down"} {
		seq, par := byKey[name+"/1"], byKey[name+"/10"]
		if par.wall > 0 && seq.wall > 0 {
			fmt.Fprintf(&b, "- %s: parallelism 10 is %.2f× faster than parallelism 1.\n", name, float64(seq.wall)/float64(par.wall))
		}
	}
	fresh, noChange, down := byKey["fresh up/10"], byKey["no-change up/10"], byKey["down/10"]
	freshBound := criticalPath(fresh, latency, factor, false)
	modeled := pathModel{r: fresh, latency: latency, factor: 1}
	newBound, newChain := modeled.chain()
	modeled.oldOrder = true
	oldBound, _ := modeled.chain()

	b.WriteString("\nTargets (issue 17):\n\n| target | measured | |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| fresh up to serving, modeled at factor 1 (this run's calls), ≤ 4 min 45 s | %s (the order before issue 17, under the same model: %s) | %s |\n",
		newBound.Round(time.Second), oldBound.Round(time.Second), verdict(newBound <= 4*time.Minute+45*time.Second))
	if factor == 1 {
		fmt.Fprintf(&b, "| fresh up at AWS's figures, wall / bound ≤ 1.05 | %.2f | %s |\n", float64(fresh.wall)/float64(freshBound), verdict(float64(fresh.wall) <= 1.05*float64(freshBound)))
	} else {
		// Without AWS's waits the emulator's own time per call dominates: no target.
		fmt.Fprintf(&b, "| fresh up, wall / bound (the target is at factor 1) | %.2f | |\n", float64(fresh.wall)/float64(freshBound))
	}
	if baseline != nil {
		ratio := float64(down.wall) / float64(baseline.wall)
		if factor == 0 {
			fmt.Fprintf(&b, "| down without waits ≤ 0.65 × the down of %s, this run | %s vs %s: %.2f × | %s |\n", baselineRev, down.wall.Round(10*time.Millisecond), baseline.wall.Round(10*time.Millisecond), ratio, verdict(ratio <= 0.65))
		} else {
			// With AWS's waits the down is their chain (draining, then interfaces lingering): the
			// calls' share is what the target at factor 0 measures.
			fmt.Fprintf(&b, "| down with AWS's waits, against the down of %s (no target: the waits dominate) | %s vs %s: %.2f × | |\n", baselineRev, down.wall.Round(10*time.Millisecond), baseline.wall.Round(10*time.Millisecond), ratio)
		}
	}
	fmt.Fprintf(&b, "| no-change up: 0 mutating, ≤ 60 reads | %d, %d | %s |\n", noChange.mutating, noChange.reads, verdict(noChange.mutating == 0 && noChange.reads <= 60))

	fmt.Fprintf(&b, "\nThe critical path of the fresh up at parallelism 10, modeled at factor 1 with this run's calls (%s):\n\n%s",
		newBound.Round(time.Second), describeChain(newChain))
	downBound, downChain := pathModel{r: down, latency: latency, factor: factor, down: true}.chain()
	fmt.Fprintf(&b, "\nThe critical path of the down at parallelism 10, at factor %g (%s):\n\n%s", factor, downBound.Round(10*time.Millisecond), describeChain(downChain))
	if factor != 1 {
		downModeled, _ := pathModel{r: down, latency: latency, factor: 1, down: true}.chain()
		fmt.Fprintf(&b, "\nThe same down modeled at factor 1: %s.\n", downModeled.Round(time.Second))
	}
	return b.String()
}
