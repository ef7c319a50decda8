package engine

// Status is one resource as the state file and AWS see it.
type Status struct {
	Step     string `json:"step"`
	Resource string `json:"resource"`
	StateID  string `json:"stateId,omitempty"`
	AWS      string `json:"aws"` // e.g. "available", "missing", "error: ..."
}
