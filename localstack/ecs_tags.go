package localstack

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
)

// moto decides whether an ECS describe answers with tags (include=TAGS) by a switch that every
// request of its server shares: a DescribeServices without TAGS that runs beside one with TAGS
// can take the other's tags away (tapctl then finds its own services untagged and refuses to
// touch them). The proxy asks every such describe with TAGS and takes the tags out of the answer
// when the caller did not ask for them, as ECS does.

// ecsTagged are the ECS describes with include=TAGS, and the answer's list that holds the tags.
var ecsTagged = map[string]string{
	"DescribeServices": "services",
	"DescribeClusters": "clusters",
	"DescribeTasks":    "tasks",
	"DescribeTaskSets": "taskSets",
}

// askECSTags makes r an ECS describe with include=TAGS; it reports whether the caller had not
// asked for them, so that they are to be taken out of the answer.
func askECSTags(r *http.Request, c call) (untag bool) {
	if c.service != "ecs" || ecsTagged[c.op] == "" {
		return false
	}
	var in map[string]any
	if json.Unmarshal(c.body, &in) != nil {
		return false
	}
	var include []any
	if list, ok := in["include"].([]any); ok {
		include = list
	}
	if slices.Contains(include, any("TAGS")) {
		return false
	}
	in["include"] = append(include, "TAGS")
	body, err := json.Marshal(in)
	if err != nil {
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return true
}

// dropECSTags takes the tags out of an ECS describe's answer.
func dropECSTags(op string, answer []byte) []byte {
	var doc map[string]any
	if json.Unmarshal(answer, &doc) != nil {
		return answer
	}
	items, _ := doc[ecsTagged[op]].([]any)
	for _, item := range items {
		if m, ok := item.(map[string]any); ok {
			delete(m, "tags")
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return answer
	}
	return out
}
