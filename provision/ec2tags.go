package provision

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tapctl/tapctl/engine"
)

// ec2TagValue reads one tag from an EC2 tag list.
func ec2TagValue(tags []ec2types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

// ensureEC2Tags adds the tags an EC2 resource of the environment lacks (its Name changed by
// hand); it makes no call when they are all there. label names the resource in the summary.
func (e *Env) ensureEC2Tags(ctx context.Context, label, id string, have []ec2types.Tag, name string) error {
	var missing []ec2types.Tag
	for k, v := range e.Tags(name, "") {
		if ec2TagValue(have, k) != v {
			missing = append(missing, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := e.AWS.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: missing}); err != nil {
		return fmt.Errorf("tagging %s: %w", id, err)
	}
	e.Updated(label, id, "tags")
	return nil
}

// ec2Owned checks on the answer what the tag filters asked for: some EC2 implementations
// (moto's DescribeNatGateways) ignore tag filters, and adopting another environment's
// resource would be far worse than one more comparison.
func (e *Env) ec2Owned(tags []ec2types.Tag, name string) bool {
	return ec2TagValue(tags, engine.TagEnvironment) == e.Name && ec2TagValue(tags, engine.TagManagedBy) == engine.ManagedByValue &&
		(name == "" || ec2TagValue(tags, TagName) == name)
}

// inVPC is the filter of a describe call that lists what one VPC holds.
func inVPC(vpcID string) []ec2types.Filter {
	return []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpcID}}}
}
