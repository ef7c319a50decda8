package cmd

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestParseTTL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string // a part of the error; "" when in is valid
	}{
		{"72h", 72 * time.Hour, ""},
		{"90m", 90 * time.Minute, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"3d", 72 * time.Hour, ""},
		{"2d12h", 60 * time.Hour, ""},
		{"1d30m", 24*time.Hour + 30*time.Minute, ""},
		{" 72h ", 72 * time.Hour, ""},
		{"1s", time.Second, ""},
		{"3650d", 3650 * 24 * time.Hour, ""},
		{"", 0, "such as 72h"},
		{"72", 0, "such as 72h"},
		{"three days", 0, "such as 72h"},
		{"d", 0, "such as 72h"},
		{"-1d", 0, "such as 72h"},
		{"1h2d", 0, "such as 72h"},
		{"3dd", 0, "such as 72h"},
		{"0", 0, "more than 0"},
		{"0d", 0, "more than 0"},
		{"0s", 0, "more than 0"},
		{"-5m", 0, "more than 0"},
		{"3d-1h", 0, "more than 0"},
		{"3651d", 0, "at most 3650d"},
		{"87601h", 0, "at most 3650d"},
	} {
		got, err := parseTTL(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("parseTTL(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("parseTTL(%q) = %v, %v; want an error containing %q", tc.in, got, err, tc.err)
		}
	}
}

// A bad --ttl is bad input: one line, exit 2, before any AWS call (there is no endpoint here).
func TestBadTTLIsRefusedBeforeAnyCall(t *testing.T) {
	isolateAWS(t)
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"tapctl", "--endpoint", "http://127.0.0.1:1", "--state-dir", t.TempDir(), "up", "--env", "pr1", "--ttl", "soon"},
		Options{Stdout: &stdout, Stderr: &stderr})
	msg := strings.TrimSpace(stderr.String())
	if code != ExitUsage || strings.Contains(msg, "\n") || !strings.Contains(msg, `invalid --ttl "soon"`) {
		t.Errorf("exit %d, stderr %q; want exit 2 and one line about --ttl", code, msg)
	}
}
