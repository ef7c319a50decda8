package provision

import (
	"context"
	"fmt"

	"github.com/tapctl/tapctl/engine"
)

// How steps find their resources. Every step proves what it finds is the environment's
// (engine.FindOwned). Kinds
// that are proven through a proven-owned parent or their own content, not by tags:
//   - KMS alias: AWS cannot tag it; proven through the key it points at;
//   - route table associations, routes, security group rules, VPC and subnet attributes,
//     target group attributes, ECR lifecycle policies, IAM inline and attached policies,
//     scaling policies and the key policy: parts of their parent, not resources of their own;
//   - scalable target: its resource ID names exactly one ECS service (service/cluster/name),
//     so it is the service's; the service is proven by its tags;
//   - CloudWatch dashboard: PutDashboard cannot tag, so a run killed before a TagResource
//     would leave it unprovable; its body carries a marker widget naming the environment,
//     written in the same call (dashboard.go);
//   - App Mesh virtual nodes and virtual services (legacy mode): inside the mesh, which is
//     proven by its tags.

// taggedKinds are the services whose describe calls carry no tags: the tagging index proves
// their resources in one call instead of one tag read each.
var taggedKinds = []string{"elasticloadbalancing", "ecr", "logs", "cloudwatch", "kms", "servicediscovery"}

// taggedIndex is the environment's resources of taggedKinds, ARN -> tags, once per run.
func taggedIndex(ctx context.Context, e *Env) map[string]map[string]string {
	return engine.TaggedIndex(ctx, e.Run, e.AWS.Tagging, taggedKinds)
}

// PrefetchTags starts reading the tagging index at once, beside the first describe calls that
// will need it: a lookup that wants it later waits for this read instead of making its own.
func PrefetchTags(ctx context.Context, e *Env) {
	go taggedIndex(ctx, e)
}

// tagsByARN are a resource's tags, from the tagging index when it lists the resource, else
// from direct, the resource's own tag read.
func tagsByARN(ctx context.Context, e *Env, arn string, direct func() (map[string]string, error)) (map[string]string, error) {
	return engine.TagsByARN(ctx, e.Run, e.AWS.Tagging, taggedKinds, arn, direct)
}

// chunks splits names for APIs that take a bounded list.
func chunks(names []string, size int) [][]string {
	var out [][]string
	for len(names) > size {
		out = append(out, names[:size])
		names = names[size:]
	}
	if len(names) > 0 {
		out = append(out, names)
	}
	return out
}

// recordedID is the ID the state file holds under key, for a step that needs an earlier one's
// resource; what names it in the error ("the VPC").
func (e *Env) recordedID(key, what string) (string, error) {
	id := e.StateID(key)
	if id == "" {
		return "", fmt.Errorf("%s of %s is not in the state file; run up", what, e.Name)
	}
	return id, nil
}
