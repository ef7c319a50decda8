package provision

import (
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"

	"github.com/tapctl/tapctl/engine"
)

// Tag keys of the platform's resources, beside the ownership tags (engine.TagEnvironment,
// engine.TagManagedBy).
const (
	TagName    = "Name"
	TagService = "Service"
	// TagMesh on the ECS cluster says the environment's --mesh choice, for tapctl list.
	TagMesh = "Mesh"
)

// Tags are the tags of one resource: the environment's, its Name, and Service where it belongs to one.
func (e *Env) Tags(name, service string) map[string]string {
	t := map[string]string{engine.TagEnvironment: e.Name, engine.TagManagedBy: engine.ManagedByValue, TagName: name}
	if service != "" {
		t[TagService] = service
	}
	if e.base != nil {
		t[TagBase] = e.BaseName()
	}
	return t
}

// ec2TagSpec tags an EC2 resource in its create call, so it is never untagged, even for an
// instant. The EC2 resources are the network's, shared by every service: none has a Service tag.
func (e *Env) ec2TagSpec(resourceType ec2types.ResourceType, name string) []ec2types.TagSpecification {
	tags := tagList(e, name, "", func(k, v string) ec2types.Tag { return ec2types.Tag{Key: aws.String(k), Value: aws.String(v)} })
	return []ec2types.TagSpecification{{ResourceType: resourceType, Tags: tags}}
}

// ec2OwnedFilters finds the EC2 resources of this environment with the given Name tag.
func (e *Env) ec2OwnedFilters(name string) []ec2types.Filter {
	f := []ec2types.Filter{
		{Name: aws.String("tag:" + engine.TagEnvironment), Values: []string{e.Name}},
		{Name: aws.String("tag:" + engine.TagManagedBy), Values: []string{engine.ManagedByValue}},
	}
	if name != "" {
		f = append(f, ec2types.Filter{Name: aws.String("tag:" + TagName), Values: []string{name}})
	}
	return f
}

// ecsTags are the tags of an ECS cluster, task definition or service.
func (e *Env) ecsTags(name, service string) []ecstypes.Tag {
	return tagList(e, name, service, func(k, v string) ecstypes.Tag { return ecstypes.Tag{Key: aws.String(k), Value: aws.String(v)} })
}

// serviceDiscoveryTags are the tags of a Cloud Map namespace or service.
func (e *Env) serviceDiscoveryTags(name, service string) []sdtypes.Tag {
	return tagList(e, name, service, func(k, v string) sdtypes.Tag { return sdtypes.Tag{Key: aws.String(k), Value: aws.String(v)} })
}

// tagList turns a resource's tags into one service's tag type, in a stable order.
func tagList[T any](e *Env, name, service string, tag func(k, v string) T) []T {
	tags := e.Tags(name, service)
	out := make([]T, 0, len(tags))
	for _, k := range sortedKeys(tags) {
		out = append(out, tag(k, tags[k]))
	}
	return out
}

// TagMap turns one service's tag list into a map, for proving ownership.
func TagMap[T any](tags []T, kv func(T) (*string, *string)) map[string]string {
	out := make(map[string]string, len(tags))
	for _, t := range tags {
		k, v := kv(t)
		out[aws.ToString(k)] = aws.ToString(v)
	}
	return out
}

func ec2TagMap(tags []ec2types.Tag) map[string]string {
	return TagMap(tags, func(t ec2types.Tag) (*string, *string) { return t.Key, t.Value })
}

// arn builds an ARN in the caller's partition, region and account.
func (e *Env) arn(service, resource string) string {
	return e.arnIn(service, e.Region, e.Account, resource)
}

// arnIn builds an ARN in the caller's partition with the region and account given: empty for
// what has none (an S3 bucket has neither, an IAM principal no region, AWS's managed policies
// the account "aws").
func (e *Env) arnIn(service, region, account, resource string) string {
	return "arn:" + e.partition() + ":" + service + ":" + region + ":" + account + ":" + resource
}

func (e *Env) partition() string {
	if e.Partition == "" {
		return "aws"
	}
	return e.Partition
}

// dnsSuffix is the domain of the partition's regional service names: amazonaws.com.cn in the
// China regions (aws-cn), amazonaws.com in aws and aws-us-gov.
func (e *Env) dnsSuffix() string {
	if e.partition() == "aws-cn" {
		return "amazonaws.com.cn"
	}
	return "amazonaws.com"
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
