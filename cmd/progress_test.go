package cmd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tapctl/tapctl/engine"
)

// fakeTerminal keeps a screen of lines and understands what liveProgress writes: text, "\n",
// "\r", cursor up (ESC [ n A) and erase below (ESC [ J). Anything else fails the test.
type fakeTerminal struct {
	t         *testing.T
	screen    []string
	row, col  int
	raw       strings.Builder
	sawEscape bool
}

func (f *fakeTerminal) Write(b []byte) (int, error) {
	f.raw.Write(b)
	s := string(b)
	for len(s) > 0 {
		switch {
		case strings.HasPrefix(s, "\033["):
			f.sawEscape = true
			end := strings.IndexAny(s[2:], "ABCDJK")
			if end < 0 {
				f.t.Fatalf("unterminated escape in %q", s)
			}
			arg, cmd := s[2:2+end], s[2+end]
			switch cmd {
			case 'A':
				n, err := strconv.Atoi(arg)
				if err != nil {
					f.t.Fatalf("cursor up without a count: %q", s)
				}
				f.row -= n
				if f.row < 0 {
					f.t.Fatalf("cursor moved above the screen")
				}
			case 'J':
				f.screen = f.screen[:f.row]
				f.col = 0
			default:
				f.t.Fatalf("unexpected escape %q", s[:3+end])
			}
			s = s[3+end:]
		case s[0] == '\r':
			f.col = 0
			s = s[1:]
		case s[0] == '\n':
			f.row++
			f.col = 0
			s = s[1:]
		default:
			i := strings.IndexAny(s, "\r\n\033")
			if i < 0 {
				i = len(s)
			}
			for len(f.screen) <= f.row {
				f.screen = append(f.screen, "")
			}
			line := f.screen[f.row]
			if f.col < len(line) {
				line = line[:f.col]
			}
			f.screen[f.row] = line + s[:i]
			f.col += i
			s = s[i:]
		}
	}
	return len(b), nil
}

func (f *fakeTerminal) text() string { return strings.Join(f.screen, "\n") }

// On a terminal: a line per running step, gone when the step is done, log lines above, the
// failure printed in one line, and the summary last.
func TestLiveProgressOnATerminal(t *testing.T) {
	term := &fakeTerminal{t: t}
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := startProgress(term, true, 80, 0)
	p.now = func() time.Time { return clock }
	var obs engine.Progress = p.observer()
	if obs == nil {
		t.Fatal("no observer on a terminal")
	}

	obs.StepStarted("vpc")
	obs.StepStarted("alb")
	clock = clock.Add(12 * time.Second)
	p.Println("INF created VPC vpc-123")
	screen := term.text()
	if !strings.Contains(screen, "INF created VPC vpc-123") || !lineHas(screen, "vpc", "12s") || !lineHas(screen, "alb", "12s") {
		t.Fatalf("running steps or log line missing:\n%s", screen)
	}
	if strings.Index(screen, "INF created VPC") > strings.Index(screen, "alb") {
		t.Errorf("the log line is not above the live block:\n%s", screen)
	}

	obs.StepDone("vpc", nil)
	screen = term.text()
	if lineHas(screen, spinnerFrames[0], "vpc") || !lineHas(screen, spinnerFrames[0], "alb") {
		t.Errorf("want alb still running and vpc gone:\n%s", screen)
	}

	failure := errors.New("creating load balancer microservices-alb-pr1: AccessDenied: not allowed\nsecond line of the cause")
	obs.StepDone("alb", failure)
	screen = term.text()
	if !strings.Contains(screen, "✗ alb failed after 12s: creating load balancer microservices-alb-pr1: AccessDenied") ||
		!strings.Contains(screen, "second line of the cause") {
		t.Errorf("the failure is not printed:\n%s", screen)
	}

	sum := &engine.Summary{Created: []string{"a", "b"}, Updated: []string{"c"}, Unchanged: []string{"d", "e", "f"}}
	p.Println(summaryLine("up", sum, 2*time.Minute+14*time.Second))
	p.Close()
	screen = term.text()
	last := term.screen[len(term.screen)-1]
	if last != "up finished in 2m14s: 2 created, 1 updated, 3 unchanged, 0 deleted" {
		t.Errorf("last line %q, want the summary; screen:\n%s", last, screen)
	}
	if strings.Contains(screen, "⠋") {
		t.Errorf("a live line survived Close:\n%s", screen)
	}
}

func TestLiveProgressCapsAndFitsLines(t *testing.T) {
	term := &fakeTerminal{t: t}
	p := startProgress(term, true, 40, 0)
	for i := range 20 {
		p.StepStarted("payment/step-with-a-rather-long-name-" + strconv.Itoa(i))
	}
	if n := len(term.screen); n != progressMaxLines {
		t.Errorf("%d live lines for 20 steps, want %d", n, progressMaxLines)
	}
	for _, l := range term.screen {
		if len([]rune(l)) >= 40 {
			t.Errorf("line wider than the terminal: %q", l)
		}
	}
	if !strings.Contains(term.text(), "more running") {
		t.Errorf("no overflow line:\n%s", term.text())
	}
	p.Close()
	if len(term.screen) != 0 {
		t.Errorf("Close left %q", term.screen)
	}
}

// Without a terminal: no observer, log lines pass through untouched, no escape code.
func TestLiveProgressWithoutATerminal(t *testing.T) {
	term := &fakeTerminal{t: t}
	p := startProgress(term, false, 80, progressTick)
	if p.observer() != nil {
		t.Fatal("an observer without a terminal")
	}
	if p.Show("payment-service-pr1", "IN_PROGRESS") {
		t.Error("Show claimed to draw without a terminal")
	}
	p.Println("plain log line")
	p.Close()
	if term.sawEscape || term.raw.String() != "plain log line\n" {
		t.Errorf("wrote %q", term.raw.String())
	}
}

func TestSummaryLineOfAFailedRun(t *testing.T) {
	got := summaryLine("down (failed)", &engine.Summary{Deleted: []string{"x"}}, 3*time.Second)
	if got != "down failed after 3s: 0 created, 0 updated, 0 unchanged, 1 deleted" {
		t.Errorf("got %q", got)
	}
}

// lineHas reports whether one screen line contains both a and b.
func lineHas(screen, a, b string) bool {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, a) && strings.Contains(l, b) {
			return true
		}
	}
	return false
}

// Steps and log lines from many goroutines while the ticker redraws: every log line survives
// whole, and no live line is left after Close (run with -race).
func TestLiveProgressConcurrentSteps(t *testing.T) {
	term := &fakeTerminal{t: t}
	p := startProgress(term, true, 80, time.Millisecond)
	done := make(chan struct{})
	for i := range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			step := "step-" + strconv.Itoa(i)
			p.StepStarted(step)
			for j := range 20 {
				p.Println("INF log line " + strconv.Itoa(i) + "-" + strconv.Itoa(j))
			}
			p.StepDone(step, nil)
		}()
	}
	for range 8 {
		<-done
	}
	p.Close()
	if len(term.screen) != 160 {
		t.Errorf("%d lines on the screen, want the 160 log lines only", len(term.screen))
	}
	for _, l := range term.screen {
		if !strings.HasPrefix(l, "INF log line ") {
			t.Errorf("torn or live line left: %q", l)
		}
	}
}

func TestSummaryLineOfAnInterruptedRun(t *testing.T) {
	got := summaryLine("up (interrupted)", &engine.Summary{Created: []string{"x", "y"}}, 3*time.Second)
	if got != "up interrupted after 3s: 2 created, 0 updated, 0 unchanged, 0 deleted" {
		t.Errorf("got %q", got)
	}
}

// A step stopped by Ctrl-C did not fail: no "✗" line for it; the run's one line says the rest.
func TestCancelledStepIsNotShownAsAFailure(t *testing.T) {
	term := &fakeTerminal{t: t}
	p := startProgress(term, true, 80, 0)
	obs := p.observer()
	obs.StepStarted("vpc")
	obs.StepDone("vpc", fmt.Errorf("creating VPC: operation error EC2: CreateVpc, canceled, %w", context.Canceled))
	p.Close()
	if strings.Contains(term.text(), "✗") {
		t.Errorf("a cancelled step is shown as failed:\n%s", term.text())
	}
}
