package cmd

import (
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// newLogger writes console lines (coloured on a terminal) or JSON lines to w.
func newLogger(w io.Writer, format string, verbose bool) (zerolog.Logger, error) {
	terminal := false
	switch t := w.(type) {
	case *os.File:
		terminal = isatty.IsTerminal(t.Fd())
	case interface{ IsTerminal() bool }: // the live progress writer in front of the terminal
		terminal = t.IsTerminal()
	}
	if format == "" {
		format = "json"
		if terminal {
			format = "console"
		}
	}
	// Steps log from several goroutines at once; one write per line, never interleaved.
	w = zerolog.SyncWriter(w)
	level := zerolog.InfoLevel
	if verbose {
		level = zerolog.DebugLevel
	}
	switch format {
	case "json":
		return zerolog.New(w).Level(level).With().Timestamp().Logger(), nil
	case "console":
		cw := zerolog.ConsoleWriter{Out: w, NoColor: !terminal, TimeFormat: time.TimeOnly}
		return zerolog.New(cw).Level(level).With().Timestamp().Logger(), nil
	}
	return zerolog.Logger{}, usagef("invalid --log-format %q: use console or json", format)
}
