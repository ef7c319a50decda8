package cmd

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/provision"
	"github.com/tapctl/tapctl/teardown"
)

// Bounds on how a failed run ends, so that an outage never prints a wall: each step that failed
// gets one line, cut to detailWidth (room for AWS's longer messages, such as an
// AccessDenied naming the policy), and a run with more failures (--parallelism above 10)
// details the first maxDetails.
const (
	maxDetails  = 10
	detailWidth = 300
)

// failureLines is how a failed run ends on stderr. Most errors are one line. When steps failed,
// the first line sums them up (the endpoint could not be reached, which steps failed, what to do)
// and each failed step follows on its own short line: its first error, without the SDK's chain
// (the whole error is in the debug log, -v). changing says whether the run may have written the
// state file.
func failureLines(err error, changing bool) []string {
	var left *teardown.LeftoverError
	if errors.As(err, &left) {
		// One line per resource down left, with why: the user deletes them or untags them.
		lines := []string{left.Summary()}
		for _, r := range left.Resources {
			lines = append(lines, shorten("  "+r.ARN+": "+r.Why))
		}
		return lines
	}
	var notServing *provision.NotServingError
	if errors.As(err, &notServing) {
		// One line per service (and the load balancer) up still waited for at --timeout.
		lines := []string{notServing.Summary()}
		for _, w := range notServing.Waiting {
			lines = append(lines, shorten("  "+w))
		}
		return lines
	}
	var failed *engine.StepsFailed
	if !errors.As(err, &failed) || len(failed.Failures) == 0 {
		if cloud.Unreachable(err) {
			return []string{fmt.Sprintf("cannot reach the AWS endpoint: %s; check --endpoint/AWS_ENDPOINT_URL and your network", cloud.Brief(err))}
		}
		return []string{oneLine(err.Error())}
	}
	steps := failed.Failures
	unreachable := true
	for _, f := range steps {
		unreachable = unreachable && cloud.Unreachable(f.Err)
	}
	if len(steps) == 1 && !unreachable {
		return []string{"step " + steps[0].Step + ": " + cloud.Brief(steps[0].Err)}
	}
	var names, details []string
	for i, f := range steps {
		if i == maxDetails {
			names = append(names, fmt.Sprintf("and %d more", len(steps)-maxDetails))
			break
		}
		names = append(names, f.Step)
		// When the network failed, the call says enough; otherwise what the step was doing helps.
		what := cloud.Brief(f.Err)
		if unreachable {
			what = cloud.Call(f.Err)
		}
		details = append(details, shorten("  "+f.Step+": "+what))
	}
	noun := "steps"
	if len(steps) == 1 {
		noun = "step"
	}
	summary := fmt.Sprintf("%d %s failed: %s", len(steps), noun, strings.Join(names, ", "))
	if unreachable {
		summary = cloud.CannotReach(steps[0].Err) + "; " + summary
	}
	if changing {
		summary += "; the state file is saved"
	}
	if unreachable {
		summary += "; run the same command again"
	} else {
		summary += "; once the cause is fixed, run the same command again"
	}
	return append([]string{summary}, details...)
}

// shorten cuts a line to detailWidth characters.
func shorten(line string) string {
	if utf8.RuneCountInString(line) <= detailWidth {
		return line
	}
	return string([]rune(line)[:detailWidth-1]) + "…"
}
