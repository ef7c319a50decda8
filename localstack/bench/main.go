// Command bench measures tapctl through the timing model (localstack.Timing): fresh up,
// no-change up and down, at parallelism 1 and at the default, with wall time, calls, peak
// memory and the critical-path bound computed from the step graph; then the same three of an
// overlay environment (up --base, issue 16) at the default parallelism, on a base made for it
// and not timed. It writes BENCHMARKS.md.
//
//	go run ./localstack/bench            # what `make bench` runs
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/tapctl/tapctl/localstack"
)

type run struct {
	name        string
	parallelism int
	wall        time.Duration
	mutating    int
	reads       int
	peakMB      float64
	stepCalls   map[string]int
	created     int    // resources the run created (the binary's summary)
	updated     int    // resources the run changed
	base        string // the base of an overlay run, "" for an isolated environment
}

func main() {
	latency := flag.Duration("latency", 50*time.Millisecond, "latency added to every call")
	factors := flag.String("factors", "0.1,0.01", "scales of AWS's slow transitions, one table each (1 = NAT 90 s, ALB 150 s, Cloud Map 45 s, ECS 120 s)")
	out := flag.String("out", "BENCHMARKS.md", "where to write the table")
	overlay := flag.Bool("overlay", true, "also measure an overlay environment (up --base) on a base made for it")
	sequential := flag.Bool("sequential", true, "also measure at parallelism 1 (at factor 1 that adds about 7 minutes)")
	baseline := flag.String("baseline", "", "a git revision whose down is measured beside this one's at each factor (built from git archive)")
	flag.Parse()
	var report strings.Builder
	fmt.Fprintf(&report, "# Benchmarks\n\nMeasured with `make bench` (`go run ./localstack/bench -latency %s -factors %s`) on %s, %d cores,\n%s, %s: the real binary against moto behind the timing model of `localstack/timing.go`.\nEach table is one run; compare ratios within a table, the machine is noisy.\n",
		*latency, *factors, cpuModel(), runtime.NumCPU(), runtime.Version(), time.Now().UTC().Format("2006-01-02"))
	for i, f := range strings.Split(*factors, ",") {
		var factor float64
		if _, err := fmt.Sscan(f, &factor); err != nil {
			fmt.Fprintln(os.Stderr, "bench: bad factor", f)
			os.Exit(2)
		}
		section, err := bench(*latency, factor, i, *overlay, *sequential, *baseline)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		report.WriteString(section)
	}
	if err := os.WriteFile(*out, []byte(report.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func bench(latency time.Duration, factor float64, round int, overlay, sequential bool, baseline string) (string, error) {
	root, err := localstack.RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(os.TempDir(), "tapctl-bench")
	if b, err := exec.Command("go", "build", "-C", root, "-o", bin, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, b)
	}
	emu, err := localstack.Start(context.Background())
	if err != nil {
		return "", err
	}
	defer emu.Stop()
	proxy, err := localstack.NewTimingProxy(emu.URL, localstack.Timing{Latency: latency, Factor: factor})
	if err != nil {
		return "", err
	}
	defer proxy.Close()
	// The bench measures the timing model alone: the strict layer's first-call "not yet" answers
	// are a test condition, not a figure of AWS's, and would add retry waits to every run.
	proxy.Strict.Store(false)
	stateDir, err := os.MkdirTemp("", "tapctl-bench-state-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(stateDir)

	var runs []run
	parallelisms := []int{1, 10}
	if !sequential {
		parallelisms = []int{10}
	}
	for _, p := range parallelisms {
		env := fmt.Sprintf("bench%d-p%d", round, p)
		for _, step := range []struct{ name, cmd string }{{"fresh up", "up"}, {"no-change up", "up"}, {"down", "down"}} {
			r, err := tapctl(bin, proxy.URL, stateDir, step.cmd, env, "", p)
			if err != nil {
				return "", fmt.Errorf("%s at parallelism %d: %w", step.name, p, err)
			}
			r.name = step.name
			runs = append(runs, r)
			fmt.Fprintf(os.Stderr, "%-13s p=%-2d %8s  %3d mutating %3d reads  %.1f MB\n", r.name, p, r.wall.Round(time.Millisecond), r.mutating, r.reads, r.peakMB)
		}
	}
	var base *run
	if baseline != "" {
		r, err := benchBaseline(root, baseline, proxy.URL, stateDir, round)
		if err != nil {
			return "", err
		}
		base = &r
	}
	section := report(runs, latency, factor, base, baseline)
	if !overlay {
		return section, nil
	}
	overlays, err := benchOverlay(bin, proxy.URL, stateDir, round)
	if err != nil {
		return "", err
	}
	return section + overlayReport(overlays, runs, latency, factor), nil
}

// benchBaseline builds the given revision, makes an environment with it (not timed) and times
// its down at the default parallelism, through the same proxy as this revision's runs.
func benchBaseline(root, rev, endpoint, stateDir string, round int) (run, error) {
	src, err := os.MkdirTemp("", "tapctl-baseline-")
	if err != nil {
		return run{}, err
	}
	defer os.RemoveAll(src)
	archive := exec.Command("sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", root, rev, src)
	if out, err := archive.CombinedOutput(); err != nil {
		return run{}, fmt.Errorf("git archive %s: %v\n%s", rev, err, out)
	}
	bin := filepath.Join(os.TempDir(), "tapctl-bench-baseline")
	if out, err := exec.Command("go", "build", "-C", src, "-o", bin, ".").CombinedOutput(); err != nil {
		return run{}, fmt.Errorf("go build of %s: %v\n%s", rev, err, out)
	}
	env := fmt.Sprintf("bench%d-base", round)
	if _, err := tapctl(bin, endpoint, stateDir, "up", env, "", 10); err != nil {
		return run{}, fmt.Errorf("up of %s: %w", rev, err)
	}
	r, err := tapctl(bin, endpoint, stateDir, "down", env, "", 10)
	r.name = "down of " + rev
	fmt.Fprintf(os.Stderr, "%-13s p=%-2d %8s  %3d mutating %3d reads\n", r.name, 10, r.wall.Round(time.Millisecond), r.mutating, r.reads)
	return r, err
}

// benchOverlay makes a base (not timed), then times an overlay's fresh up, no-change up and down
// on it at the default parallelism, and takes the base down (not timed).
func benchOverlay(bin, endpoint, stateDir string, round int) ([]run, error) {
	const p = 10
	base, overlay := fmt.Sprintf("bench%d-b", round), fmt.Sprintf("bench%d-o", round)
	if _, err := tapctl(bin, endpoint, stateDir, "up", base, "", p); err != nil {
		return nil, fmt.Errorf("up of the base %s: %w", base, err)
	}
	var runs []run
	for _, step := range []struct{ name, cmd string }{{"fresh up", "up"}, {"no-change up", "up"}, {"down", "down"}} {
		r, err := tapctl(bin, endpoint, stateDir, step.cmd, overlay, base, p)
		if err != nil {
			return nil, fmt.Errorf("overlay %s at parallelism %d: %w", step.name, p, err)
		}
		r.name = step.name
		runs = append(runs, r)
		fmt.Fprintf(os.Stderr, "overlay %-13s p=%-2d %8s  %3d mutating %3d reads  %.1f MB\n", r.name, p, r.wall.Round(time.Millisecond), r.mutating, r.reads, r.peakMB)
	}
	if _, err := tapctl(bin, endpoint, stateDir, "down", base, "", p); err != nil {
		return nil, fmt.Errorf("down of the base %s: %w", base, err)
	}
	return runs, nil
}

// tapctl runs the real binary and reads its JSON log for the call counts. base makes the up an
// overlay's (--base); an overlay's down finds its base in its state file.
func tapctl(bin, endpoint, stateDir, command, env, base string, parallelism int) (run, error) {
	args := []string{"--endpoint", endpoint, "--state-dir", stateDir, "--log-format", "json", "-v", command, "--env", env, "--parallelism", fmt.Sprint(parallelism)}
	if command == "down" {
		args = append(args, "--yes")
	}
	if command == "up" && base != "" {
		args = append(args, "--base", base)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench", "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	r := run{parallelism: parallelism, wall: time.Since(start), stepCalls: map[string]int{}, base: base}
	if err != nil {
		return r, fmt.Errorf("%v\n%s", err, lastLines(stderr.String(), 5))
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.peakMB = float64(ru.Maxrss) / 1024 // kilobytes on Linux
	}
	sc := bufio.NewScanner(&stderr)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Message  string `json:"message"`
			Step     string `json:"step"`
			Calls    int    `json:"calls"`
			Mutating int    `json:"mutatingCalls"`
			Reads    int    `json:"readCalls"`
			Created  int    `json:"created"`
			Updated  int    `json:"updated"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		switch {
		case line.Message == "step calls":
			r.stepCalls[line.Step] = line.Calls
		case strings.HasSuffix(line.Message, "finished"):
			r.mutating, r.reads, r.created, r.updated = line.Mutating, line.Reads, line.Created, line.Updated
		}
	}
	return r, nil
}

// overlayReport is the overlay's table in the isolated table's format, then the overlay's fresh
// up against the isolated one's at the default parallelism: measured here, and modeled at
// factor 1 (AWS's figures) from the calls counted here.
func overlayReport(overlays, isolated []run, latency time.Duration, factor float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n### Overlay environment (issue 16), factor %g: `up --base` on a base made before it (not timed)\n\n", factor)
	b.WriteString("| run | parallelism | wall time | mutating calls | read calls | peak memory | critical-path bound | wall / bound |\n|---|---|---|---|---|---|---|---|\n")
	var fresh run
	for _, r := range overlays {
		bound := criticalPath(r, latency, factor, r.name == "down")
		if r.name == "fresh up" {
			fresh = r
		}
		fmt.Fprintf(&b, "| overlay %s | %d | %s | %d | %d | %.1f MB | %s | %.2f |\n", r.name, r.parallelism, r.wall.Round(10*time.Millisecond),
			r.mutating, r.reads, r.peakMB, bound.Round(10*time.Millisecond), float64(r.wall)/float64(bound))
	}
	var iso run
	for _, r := range isolated {
		if r.name == "fresh up" && r.parallelism == fresh.parallelism {
			iso = r
		}
	}
	if fresh.wall == 0 || iso.wall == 0 {
		return b.String()
	}
	isoBound, ovBound := criticalPath(iso, latency, factor, false), criticalPath(fresh, latency, factor, false)
	fmt.Fprintf(&b, "\n- overlay fresh up is %.2f× faster than isolated fresh up (bound %s vs %s; wall %s vs %s).\n", float64(iso.wall)/float64(fresh.wall),
		ovBound.Round(10*time.Millisecond), isoBound.Round(10*time.Millisecond), fresh.wall.Round(10*time.Millisecond), iso.wall.Round(10*time.Millisecond))
	if factor != 1 {
		iso1, ov1 := criticalPath(iso, latency, 1, false), criticalPath(fresh, latency, 1, false)
		fmt.Fprintf(&b, "- modeled at factor 1 (AWS's waits; the calls as counted in this run, so the polls a longer wait adds are left out): overlay bound %s vs isolated %s, %.2f× faster.\n",
			ov1.Round(100*time.Millisecond), iso1.Round(100*time.Millisecond), float64(iso1)/float64(ov1))
	}
	fmt.Fprintf(&b, "- resources created by the fresh up: overlay %d (and %d changed of the base's: the ingress rule for its port), isolated %d.\n", fresh.created, fresh.updated, iso.created)
	b.WriteString("\nAn overlay's critical path has no NAT gateway and no load balancer on it (both are the base's):\n" +
		"what remains is the Cloud Map namespace operation and the services reaching their count.\n")
	return b.String()
}

func cpuModel() string {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "model name") {
			return strings.TrimSpace(line[strings.Index(line, ":")+1:])
		}
	}
	return runtime.GOARCH
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
