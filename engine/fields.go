package engine

import (
	"encoding/json"
	"regexp"
)

// sensitive names fields whose values are never shown.
var sensitive = regexp.MustCompile(`(?i)password|secret|passwd|privatekey|token`)

// noise are input fields that say nothing about the change.
var noise = map[string]bool{"Tags": true, "TagSpecifications": true, "ClientToken": true, "ClientRequestToken": true, "DryRun": true}

// Fields turns an SDK input into the values it sets: empty values, tags and tokens left out,
// anything named like a secret or password masked.
func Fields(input any) map[string]any {
	raw, err := json.Marshal(input)
	if err != nil {
		return map[string]any{"error": "cannot show the input: " + err.Error()}
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil
	}
	out, _ := clean(m).(map[string]any)
	return out
}

func clean(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			if noise[k] {
				continue
			}
			if sensitive.MatchString(k) {
				if c := clean(val); c != nil {
					out[k] = "(sensitive)"
				}
				continue
			}
			if c := clean(val); c != nil {
				out[k] = c
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		var out []any
		for _, item := range x {
			if c := clean(item); c != nil {
				out = append(out, c)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case string:
		if x == "" {
			return nil
		}
	case bool:
		if !x {
			return nil
		}
	case nil:
		return nil
	}
	return v
}
