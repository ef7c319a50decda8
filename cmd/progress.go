package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mattn/go-isatty"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
)

// liveProgress shows, on a terminal, one line per running step with its elapsed time, redrawn
// in place below the log lines. Every log line goes through it (it is the logger's writer), so
// a log line is printed above the block and the two never tear. Without a terminal it only
// passes the log lines through: no escape code is ever written there.
type liveProgress struct {
	mu       sync.Mutex
	out      io.Writer
	terminal bool
	width    int
	lines    []*liveLine // what runs now, in start order
	drawn    int         // lines of the block on the screen
	midLine  bool        // the last write did not end its line: draw nothing until it does
	frame    int
	now      func() time.Time
	stop     chan struct{}
	ticking  sync.WaitGroup
	closed   bool
}

type liveLine struct {
	key, detail string
	started     time.Time
}

const (
	progressTick     = 150 * time.Millisecond
	progressMaxLines = 12 // more running steps than this are summed up in one line
)

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// newProgress draws live lines when w is a terminal.
func newProgress(w io.Writer) *liveProgress {
	f, ok := w.(*os.File)
	// TERM=dumb (editors' shells, some CI runners) cannot move the cursor.
	terminal := ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) && os.Getenv("TERM") != "dumb"
	width := 0
	if terminal {
		width = terminalWidth(f)
	}
	return startProgress(w, terminal, width, progressTick)
}

// startProgress redraws the block every tick (0: only when something changes, for tests).
func startProgress(w io.Writer, terminal bool, width int, tick time.Duration) *liveProgress {
	if width <= 0 {
		width = 100
	}
	p := &liveProgress{out: w, terminal: terminal, width: width, now: time.Now, stop: make(chan struct{})}
	if terminal && tick > 0 {
		p.ticking.Add(1)
		go func() {
			defer p.ticking.Done()
			t := time.NewTicker(tick)
			defer t.Stop()
			for {
				select {
				case <-p.stop:
					return
				case <-t.C:
					p.mu.Lock()
					p.frame++
					p.redraw()
					p.mu.Unlock()
				}
			}
		}()
	}
	return p
}

// IsTerminal tells newLogger to write console lines, coloured, as it would on the terminal itself.
func (p *liveProgress) IsTerminal() bool { return p.terminal }

// observer is what the engine calls; nil without a terminal, where log lines say it all.
func (p *liveProgress) observer() engine.Progress {
	if !p.terminal {
		return nil
	}
	return p
}

// Write prints log output above the block.
func (p *liveProgress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.terminal {
		return p.out.Write(b)
	}
	p.erase()
	n, err := p.out.Write(b)
	p.midLine = len(b) > 0 && b[len(b)-1] != '\n'
	p.draw()
	return n, err
}

func (p *liveProgress) StepStarted(step string) { p.Show(step, "") }

// StepDone removes the step's line; a failure is printed above the block at once, in one line
// without the SDK's chain of wrappers (the debug log has it whole).
func (p *liveProgress) StepDone(step string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var took time.Duration
	for i, l := range p.lines {
		if l.key == step {
			took = p.now().Sub(l.started)
			p.lines = append(p.lines[:i], p.lines[i+1:]...)
			break
		}
	}
	p.erase()
	// A step stopped by Ctrl-C did not fail: the run's one line says it was interrupted.
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(p.out, "✗ %s failed after %s: %s\n", step, formatElapsed(took), cloud.Brief(err))
		p.midLine = false
	}
	p.draw()
}

// Show sets the line of key (a step, a service being deployed), adding it when new. It
// reports whether anything is shown: without a terminal the caller logs instead.
func (p *liveProgress) Show(key, detail string) bool {
	if !p.terminal {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.lines {
		if l.key == key {
			l.detail = detail
			p.redraw()
			return true
		}
	}
	p.lines = append(p.lines, &liveLine{key: key, detail: detail, started: p.now()})
	p.redraw()
	return true
}

// Remove takes key's line away.
func (p *liveProgress) Remove(key string) {
	if !p.terminal {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, l := range p.lines {
		if l.key == key {
			p.lines = append(p.lines[:i], p.lines[i+1:]...)
			break
		}
	}
	p.redraw()
}

// Println prints one line above the block (the final summary).
func (p *liveProgress) Println(line string) {
	_, _ = p.Write([]byte(line + "\n"))
}

// Close stops the redrawing and clears the block, so what follows (the one-line error of Run)
// starts on a clean line.
func (p *liveProgress) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.stop)
	p.mu.Unlock()
	p.ticking.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal {
		p.lines = nil
		p.erase()
	}
}

func (p *liveProgress) redraw() {
	if p.closed {
		return
	}
	p.erase()
	p.draw()
}

// erase moves the cursor to the block's first line and clears to the end of the screen.
func (p *liveProgress) erase() {
	if p.drawn > 0 {
		fmt.Fprintf(p.out, "\033[%dA\r\033[J", p.drawn)
		p.drawn = 0
	}
}

func (p *liveProgress) draw() {
	if p.midLine || p.closed || len(p.lines) == 0 {
		return
	}
	label := 0
	for _, l := range p.lines {
		label = max(label, utf8.RuneCountInString(l.key))
	}
	var b strings.Builder
	n := 0
	spinner := spinnerFrames[p.frame%len(spinnerFrames)]
	for i, l := range p.lines {
		if i == progressMaxLines-1 && len(p.lines) > progressMaxLines {
			b.WriteString(p.fit(fmt.Sprintf("  … and %d more running", len(p.lines)-i)) + "\n")
			n++
			break
		}
		text := fmt.Sprintf("%s %-*s %6s", spinner, label, l.key, formatElapsed(p.now().Sub(l.started)))
		if l.detail != "" {
			text += "  " + l.detail
		}
		b.WriteString(p.fit(text) + "\n")
		n++
	}
	_, _ = io.WriteString(p.out, b.String())
	p.drawn = n
}

// fit keeps a line narrower than the terminal: a wrapped line would break the redraw.
func (p *liveProgress) fit(s string) string {
	if utf8.RuneCountInString(s) < p.width {
		return s
	}
	r := []rune(s)
	return string(r[:p.width-2]) + "…"
}

// formatElapsed: "850ms", "12s", "2m05s", "1h02m".
func formatElapsed(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// summaryLine is the run's last line on a terminal, e.g.
// "up finished in 2m14s: 12 created, 3 updated, 40 unchanged, 0 deleted".
func summaryLine(verb string, sum *engine.Summary, elapsed time.Duration) string {
	what := "finished in"
	if v, ok := strings.CutSuffix(verb, " (failed)"); ok {
		verb, what = v, "failed after"
	} else if v, ok := strings.CutSuffix(verb, " (interrupted)"); ok {
		verb, what = v, "interrupted after"
	}
	return fmt.Sprintf("%s %s %s: %d created, %d updated, %d unchanged, %d deleted",
		verb, what, formatElapsed(elapsed), len(sum.Created), len(sum.Updated), len(sum.Unchanged), len(sum.Deleted))
}
