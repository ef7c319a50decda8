package provision

import (
	"encoding/json"
	"net/url"
)

// policyDocument is an IAM or KMS policy, built from structs so that no document is ever
// assembled from strings.
type policyDocument struct {
	Version   string            `json:"Version"`
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Sid       string                       `json:"Sid,omitempty"`
	Effect    string                       `json:"Effect"`
	Principal *policyPrincipal             `json:"Principal,omitempty"`
	Action    []string                     `json:"Action"`
	Resource  []string                     `json:"Resource,omitempty"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

type policyPrincipal struct {
	AWS     string `json:"AWS,omitempty"`
	Service string `json:"Service,omitempty"`
}

func newPolicy(statements ...policyStatement) policyDocument {
	return policyDocument{Version: "2012-10-17", Statement: statements}
}

func allow(actions []string, resources ...string) policyStatement {
	return policyStatement{Effect: "Allow", Action: actions, Resource: resources}
}

func (p policyDocument) String() string {
	raw, err := json.Marshal(p)
	if err != nil {
		panic(err) // only plain strings inside: cannot fail
	}
	return string(raw)
}

// samePolicy compares two policy documents by meaning: IAM returns them URL-encoded and
// reformatted, and a single-element list may come back as a plain string.
func samePolicy(have, want string) bool {
	if decoded, err := url.QueryUnescape(have); err == nil {
		have = decoded
	}
	var a, b any
	if json.Unmarshal([]byte(have), &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return false
	}
	return equalJSON(normalizeJSON(a), normalizeJSON(b))
}

// normalizeJSON turns one-element lists into their element, as IAM treats them the same.
func normalizeJSON(v any) any {
	switch x := v.(type) {
	case []any:
		if len(x) == 1 {
			return normalizeJSON(x[0])
		}
		out := make([]any, len(x))
		for i := range x {
			out[i] = normalizeJSON(x[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = normalizeJSON(val)
		}
		return out
	}
	return v
}

func equalJSON(a, b any) bool {
	ra, _ := json.Marshal(a)
	rb, _ := json.Marshal(b)
	return string(ra) == string(rb)
}
