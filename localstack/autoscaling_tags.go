package localstack

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// moto keeps no tags for Application Auto Scaling and serves neither TagResource nor
// ListTagsForResource: the proxy keeps them, by scalable target ARN, from the register call's
// Tags (a create) and from TagResource, and answers both operations as AWS does.
const autoScalingTarget = "AnyScaleFrontendService."

// serveAutoScalingTags answers the tagging operations of Application Auto Scaling; it reports
// whether r was one.
func (p *Proxy) serveAutoScalingTags(w http.ResponseWriter, r *http.Request) bool {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), autoScalingTarget)
	if !ok || op != "TagResource" && op != "ListTagsForResource" && op != "UntagResource" {
		return false
	}
	var in struct {
		ResourceARN string
		Tags        map[string]string
		TagKeys     []string
	}
	body, _ := io.ReadAll(r.Body)
	if json.Unmarshal(body, &in) != nil || in.ResourceARN == "" {
		writeAWSError(w, "json", awsError{http.StatusBadRequest, "ValidationException", "ResourceARN is required"})
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	tags := p.autoScalingTags[in.ResourceARN]
	if tags == nil {
		tags = map[string]string{}
		p.autoScalingTags[in.ResourceARN] = tags
	}
	switch op {
	case "TagResource":
		for k, v := range in.Tags {
			tags[k] = v
		}
		writeJSON(w, map[string]any{})
	case "UntagResource":
		for _, k := range in.TagKeys {
			delete(tags, k)
		}
		writeJSON(w, map[string]any{})
	default:
		writeJSON(w, map[string]any{"Tags": tags})
	}
	return true
}

// noteAutoScalingTags keeps the tags a RegisterScalableTarget that created a target carried.
func (p *Proxy) noteAutoScalingTags(c call, answer []byte) {
	if !c.is("application-autoscaling:RegisterScalableTarget") {
		return
	}
	var in struct{ Tags map[string]string }
	var out struct{ ScalableTargetARN string }
	if json.Unmarshal(c.body, &in) != nil || json.Unmarshal(answer, &out) != nil || len(in.Tags) == 0 || out.ScalableTargetARN == "" {
		return
	}
	tags := p.autoScalingTags[out.ScalableTargetARN]
	if tags == nil {
		tags = map[string]string{}
		p.autoScalingTags[out.ScalableTargetARN] = tags
	}
	for k, v := range in.Tags {
		tags[k] = v
	}
}

// AutoScalingTags are the tags the proxy holds for a scalable target.
func (p *Proxy) AutoScalingTags(arn string) map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]string{}
	for k, v := range p.autoScalingTags[arn] {
		out[k] = v
	}
	return out
}
