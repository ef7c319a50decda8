package engine

import (
	"encoding/json"
	"errors"
)

// Status is one resource as the state file and AWS see it.
type Status struct {
	Step     string
	Resource string
	StateID  string
	AWS      Observation
}

// StatusKind is what a lookup found of a resource, for a program to act on.
type StatusKind string

const (
	Present StatusKind = "present" // the environment's resource exists; Detail is its state
	Missing StatusKind = "missing" // AWS has none
	Foreign StatusKind = "foreign" // one exists that is not the environment's; Detail says why
	Failed  StatusKind = "error"   // the read failed; Detail is the error
)

// Observation is what AWS says of a resource: its kind, and the detail a person reads.
type Observation struct {
	Kind   StatusKind
	Detail string
}

// Observe is what a lookup found: err from the lookup (a ForeignError for a resource that is
// not the environment's), whether it found the resource, and the state of what it found.
func Observe(err error, found bool, state func() string) Observation {
	var foreign *ForeignError
	switch {
	case errors.As(err, &foreign):
		return Observation{Kind: Foreign, Detail: foreign.Error()}
	case err != nil:
		return Observation{Kind: Failed, Detail: err.Error()}
	case !found:
		return Observation{Kind: Missing}
	}
	return Observation{Kind: Present, Detail: state()}
}

// String is the observation as status prints it: the state, "missing", "error: ..." or
// "not this environment's: ...".
func (o Observation) String() string {
	switch o.Kind {
	case Missing:
		return "missing"
	case Failed:
		return "error: " + o.Detail
	case Foreign:
		return "not this environment's: " + o.Detail
	}
	return o.Detail
}

// statusJSON is status --output json: "aws" is the text the README documents, "kind" and
// "detail" the same, typed.
type statusJSON struct {
	Step     string     `json:"step"`
	Resource string     `json:"resource"`
	StateID  string     `json:"stateId,omitempty"`
	AWS      string     `json:"aws"`
	Kind     StatusKind `json:"kind"`
	Detail   string     `json:"detail,omitempty"`
}

func (s Status) MarshalJSON() ([]byte, error) {
	return json.Marshal(statusJSON{Step: s.Step, Resource: s.Resource, StateID: s.StateID,
		AWS: s.AWS.String(), Kind: s.AWS.Kind, Detail: s.AWS.Detail})
}

func (s *Status) UnmarshalJSON(data []byte) error {
	var j statusJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*s = Status{Step: j.Step, Resource: j.Resource, StateID: j.StateID, AWS: Observation{Kind: j.Kind, Detail: j.Detail}}
	return nil
}
