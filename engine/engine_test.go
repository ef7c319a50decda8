package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// testEnv is the smallest environment the engine runs steps with.
type testEnv struct{ *Run }

func (e *testEnv) EngineRun() *Run         { return e.Run }
func (e *testEnv) WithRun(r *Run) *testEnv { return &testEnv{r} }
func newTestEnv(name string) *testEnv      { return &testEnv{NewRun(name)} }

type fakeStep struct {
	name string
	deps []string
	log  *[]string
}

func (f fakeStep) Name() string        { return f.name }
func (f fakeStep) DependsOn() []string { return f.deps }
func (f fakeStep) Up(context.Context, *testEnv) error {
	*f.log = append(*f.log, "up "+f.name)
	return nil
}
func (f fakeStep) Down(context.Context, *testEnv) error {
	*f.log = append(*f.log, "down "+f.name)
	return nil
}
func (f fakeStep) Inspect(context.Context, *testEnv) []Status { return nil }
func (f fakeStep) Claim(context.Context, *testEnv) error      { return nil }

func names(steps []Step[*testEnv]) string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Name())
	}
	return strings.Join(out, ",")
}

func TestOrderPutsDependenciesFirst(t *testing.T) {
	var log []string
	steps := []Step[*testEnv]{
		fakeStep{"routes", []string{"subnets", "nat"}, &log},
		fakeStep{"nat", []string{"subnets", "igw"}, &log},
		fakeStep{"subnets", []string{"vpc"}, &log},
		fakeStep{"igw", []string{"vpc"}, &log},
		fakeStep{"vpc", nil, &log},
	}
	ordered, err := Order(steps)
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, s := range ordered {
		pos[s.Name()] = i
	}
	for _, s := range steps {
		for _, d := range s.DependsOn() {
			if pos[d] >= pos[s.Name()] {
				t.Errorf("%s runs at %d before its dependency %s at %d (%s)", s.Name(), pos[s.Name()], d, pos[d], names(ordered))
			}
		}
	}
	if got := names(Reverse(ordered)); got != "routes,nat,igw,subnets,vpc" {
		t.Errorf("reverse order = %s", got)
	}
}

func TestOrderRejectsCyclesAndUnknownDependencies(t *testing.T) {
	var log []string
	_, err := Order([]Step[*testEnv]{fakeStep{"a", []string{"b"}, &log}, fakeStep{"b", []string{"a"}, &log}})
	if err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: got %v", err)
	}
	_, err = Order([]Step[*testEnv]{fakeStep{"a", []string{"nope"}, &log}})
	if err == nil || !strings.Contains(err.Error(), "unknown step") {
		t.Errorf("unknown: got %v", err)
	}
	_, err = Order([]Step[*testEnv]{fakeStep{"a", nil, &log}, fakeStep{"a", nil, &log}})
	if err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate: got %v", err)
	}
}

// timedStep records when it starts and ends, and can wait for a sibling to start.
type timedStep struct {
	name    string
	deps    []string
	rec     *recorder
	waitFor string // another step that must start while this one runs
	fail    bool
	hold    time.Duration
}

type recorder struct {
	mu      sync.Mutex
	events  []string
	started map[string]chan struct{}
}

func newRecorder(names ...string) *recorder {
	r := &recorder{started: map[string]chan struct{}{}}
	for _, n := range names {
		r.started[n] = make(chan struct{})
	}
	return r
}

func (r *recorder) add(ev string) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}

func (r *recorder) index(ev string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, e := range r.events {
		if e == ev {
			return i
		}
	}
	return -1
}

func (s timedStep) Name() string        { return s.name }
func (s timedStep) DependsOn() []string { return s.deps }
func (s timedStep) run() error {
	s.rec.add("start " + s.name)
	close(s.rec.started[s.name])
	if s.waitFor != "" {
		select {
		case <-s.rec.started[s.waitFor]:
		case <-time.After(5 * time.Second):
			return fmt.Errorf("%s never saw %s start alongside it", s.name, s.waitFor)
		}
	}
	time.Sleep(s.hold)
	s.rec.add("end " + s.name)
	if s.fail {
		return errors.New("boom")
	}
	return nil
}
func (s timedStep) Up(context.Context, *testEnv) error         { return s.run() }
func (s timedStep) Down(context.Context, *testEnv) error       { return s.run() }
func (s timedStep) Inspect(context.Context, *testEnv) []Status { return nil }
func (s timedStep) Claim(context.Context, *testEnv) error      { return nil }

func graph(rec *recorder) []Step[*testEnv] {
	return []Step[*testEnv]{
		timedStep{name: "vpc", rec: rec},
		timedStep{name: "subnets", deps: []string{"vpc"}, rec: rec},
		timedStep{name: "igw", deps: []string{"vpc"}, rec: rec},
		timedStep{name: "nat", deps: []string{"subnets", "igw"}, rec: rec},
		timedStep{name: "key", rec: rec},
		timedStep{name: "routes", deps: []string{"nat"}, rec: rec},
	}
}

func TestApplyNeverStartsAStepBeforeItsDependencies(t *testing.T) {
	for _, parallelism := range []int{1, 3, 10} {
		rec := newRecorder("vpc", "subnets", "igw", "nat", "key", "routes")
		steps := graph(rec)
		if err := Apply(context.Background(), newTestEnv("t"), steps, parallelism); err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			for _, d := range s.DependsOn() {
				if rec.index("end "+d) > rec.index("start "+s.Name()) {
					t.Errorf("parallelism %d: %s started before %s ended: %v", parallelism, s.Name(), d, rec.events)
				}
			}
		}
	}
}

func TestParallelismOneKeepsTheSequentialOrder(t *testing.T) {
	rec := newRecorder("vpc", "subnets", "igw", "nat", "key", "routes")
	steps := graph(rec)
	ordered, _ := Order(steps)
	if err := Apply(context.Background(), newTestEnv("t"), steps, 1); err != nil {
		t.Fatal(err)
	}
	var starts []string
	for _, ev := range rec.events {
		if strings.HasPrefix(ev, "start ") {
			starts = append(starts, strings.TrimPrefix(ev, "start "))
		}
	}
	if strings.Join(starts, ",") != names(ordered) {
		t.Errorf("order %v, want %s", starts, names(ordered))
	}
}

// igw waits for subnets to start while it runs: only a concurrent engine lets it finish.
func TestApplyRunsIndependentStepsAtTheSameTime(t *testing.T) {
	rec := newRecorder("vpc", "subnets", "igw")
	steps := []Step[*testEnv]{
		timedStep{name: "vpc", rec: rec},
		timedStep{name: "subnets", deps: []string{"vpc"}, rec: rec, waitFor: "igw"},
		timedStep{name: "igw", deps: []string{"vpc"}, rec: rec, waitFor: "subnets"},
	}
	if err := Apply(context.Background(), newTestEnv("t"), steps, 10); err != nil {
		t.Fatal(err)
	}
}

// After a failure no new step starts; the running one finishes; every failure is reported.
func TestApplyStopsCleanlyOnAFailure(t *testing.T) {
	rec := newRecorder("a", "b", "c", "d")
	steps := []Step[*testEnv]{
		timedStep{name: "a", rec: rec, fail: true},
		timedStep{name: "b", rec: rec, hold: 50 * time.Millisecond, fail: true},
		timedStep{name: "c", rec: rec},
		timedStep{name: "d", deps: []string{"a"}, rec: rec},
	}
	err := Apply(context.Background(), newTestEnv("t"), steps, 2)
	if err == nil || !strings.Contains(err.Error(), "step a") || !strings.Contains(err.Error(), "step b") {
		t.Fatalf("err = %v, want both failures", err)
	}
	if rec.index("end b") < 0 {
		t.Error("the running step b was not let finish")
	}
	if rec.index("start c") >= 0 || rec.index("start d") >= 0 {
		t.Errorf("steps started after the failure: %v", rec.events)
	}
}

func TestDestroyRespectsReverseOrder(t *testing.T) {
	for _, parallelism := range []int{1, 10} {
		rec := newRecorder("vpc", "subnets", "igw", "nat", "key", "routes")
		steps := graph(rec)
		if err := Destroy(context.Background(), newTestEnv("t"), steps, parallelism); err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			for _, d := range s.DependsOn() {
				if rec.index("end "+s.Name()) > rec.index("start "+d) {
					t.Errorf("parallelism %d: %s deleted before %s: %v", parallelism, d, s.Name(), rec.events)
				}
			}
		}
	}
}

// downOrderedStep has a teardown order of its own (DownDependsOn).
type downOrderedStep struct {
	fakeStep
	downDeps []string
}

func (d downOrderedStep) DownDependsOn() []string { return d.downDeps }

func TestDownDependsOnReplacesDependsOnInTeardownOnly(t *testing.T) {
	var log []string
	steps := []Step[*testEnv]{
		fakeStep{name: "role", log: &log},
		fakeStep{name: "logs", log: &log},
		// The definition needs the role to be made; its deletion need not come first.
		downOrderedStep{fakeStep{name: "definition", deps: []string{"role"}, log: &log}, nil},
		// The service's tasks use the role and the logs until it is gone.
		downOrderedStep{fakeStep{name: "service", deps: []string{"definition"}, log: &log}, []string{"definition", "role", "logs"}},
	}
	prereq := prerequisitesDown(steps)
	for step, want := range map[string][]string{"definition": {"service"}, "role": {"service"}, "logs": {"service"}, "service": nil} {
		if got := prereq[step]; strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("in teardown %s waits for %v, want %v", step, got, want)
		}
	}
	if up := prerequisitesUp(steps); strings.Join(up["definition"], ",") != "role" {
		t.Errorf("up's order changed: definition waits for %v", up["definition"])
	}
	if err := Destroy(context.Background(), newTestEnv("t"), steps, 1); err != nil {
		t.Fatal(err)
	}
	if log[0] != "down service" {
		t.Errorf("teardown began with %q, want the service first: %v", log[0], log)
	}
}

func TestScheduleStartsTheLongestChainFirstWhenRoomIsShort(t *testing.T) {
	// x, y and z are independent and come first in the order; a starts a chain a -> b -> c.
	// The first two steps to start both wait until both have started: they are the first batch.
	var log []string
	var mu sync.Mutex
	firstBatch := make(chan struct{})
	steps := []Step[*testEnv]{
		fakeStep{name: "x"}, fakeStep{name: "y"}, fakeStep{name: "z"},
		fakeStep{name: "a"}, fakeStep{name: "b", deps: []string{"a"}}, fakeStep{name: "c", deps: []string{"b"}},
	}
	err := schedule(context.Background(), steps, prerequisitesUp(steps), 2, func(_ context.Context, s Step[*testEnv]) error {
		mu.Lock()
		log = append(log, s.Name())
		n := len(log)
		if n == 2 {
			close(firstBatch)
		}
		mu.Unlock()
		if n <= 2 {
			<-firstBatch
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(log[:2], "a") {
		t.Errorf("a, which two more steps wait on, is not in the first batch: %v", log)
	}
}
