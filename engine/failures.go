package engine

import "strings"

// StepError is one step's failure.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return "step " + e.Step + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// StepsFailed is every failure of one run of the steps, in the order they ended; each step
// fails at most once, and a run starts no step after its first failure. The command line sums
// it up (cmd), so that ten steps failing for one reason read as one problem.
type StepsFailed struct{ Failures []*StepError }

func (e *StepsFailed) Error() string {
	lines := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		lines[i] = f.Error()
	}
	return strings.Join(lines, "\n")
}

func (e *StepsFailed) Unwrap() []error {
	errs := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		errs[i] = f
	}
	return errs
}
