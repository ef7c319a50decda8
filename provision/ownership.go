package provision

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	tagging "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	taggingtypes "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"
)

// Ownership (SPEC "Ownership"): a resource is environment E's only when it carries
// ManagedBy=tapctl and Environment=E. Every step proves it before it adopts, changes or
// deletes anything, on every path it finds a resource by: the state file's ID, its tags, or
// its name (findOwned). A resource found by name that is not E's stops up and plan with a
// ForeignError; down leaves it alone and says so. A state file ID that names another
// environment's resource, or one of another region or account, is refused by every command.
//
// Kinds that are proven through a proven-owned parent or their own content, not by tags:
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

// SettingAccount binds a state file to the account it was written for (as "region" binds it to
// its region): another account's credentials are refused before any call that changes anything.
const SettingAccount = "account"

// ForeignError is a resource tapctl found but cannot prove is the environment's.
type ForeignError struct {
	Kind, Name string            // e.g. "secret", "db-credentials-staging"
	Env        string            // the environment the run is for
	Owner      map[string]string // the resource's ManagedBy and Environment tags, where set
	ViaState   bool              // found by the state file's ID rather than by name
	Reason     string            // set when the ID itself is of another region or account
}

func (f *ForeignError) Error() string {
	owner := "it carries no ManagedBy/Environment tags"
	if len(f.Owner) > 0 {
		var kv []string
		for _, k := range sortedKeys(f.Owner) {
			kv = append(kv, k+"="+f.Owner[k])
		}
		owner = "its tags say " + strings.Join(kv, ", ")
	}
	if f.Reason != "" {
		owner = f.Reason
	}
	if f.ViaState {
		return fmt.Sprintf("the state file of %s names %s %s, which is not environment %s's (%s); tapctl will not change or delete it: check that the state file belongs to %s in this account and region",
			f.Env, f.Kind, f.Name, f.Env, owner, f.Env)
	}
	return fmt.Sprintf("%s %s exists and is not tapctl's environment %s (%s); tapctl will not adopt, change or delete it: choose another --env, or tag it %s=%s %s=%s to hand it over",
		f.Kind, f.Name, f.Env, owner, TagManagedBy, ManagedByValue, TagEnvironment, f.Env)
}

// owns reports whether tags prove a resource is the environment's.
func (e *Env) owns(tags map[string]string) bool {
	return tags[TagManagedBy] == ManagedByValue && tags[TagEnvironment] == e.Name
}

// prove checks a found resource's tags; found by name, a foreign resource is refused in up and
// plan and left alone by down (notForeign).
func (e *Env) prove(kind, name string, tags map[string]string, viaState bool) error {
	if e.owns(tags) {
		return nil
	}
	owner := map[string]string{}
	for _, k := range []string{TagManagedBy, TagEnvironment} {
		if v, ok := tags[k]; ok {
			owner[k] = v
		}
	}
	return &ForeignError{Kind: kind, Name: name, Env: e.Name, Owner: owner, ViaState: viaState}
}

// checkStateARN refuses a state file ID that is an ARN of another region or account: the run
// could not even see that resource, let alone prove it.
func (e *Env) checkStateARN(kind, id string) error {
	a, err := arn.Parse(id)
	if err != nil {
		return nil // not an ARN: an EC2 ID, a name
	}
	switch {
	case e.Account != "" && a.AccountID != "" && a.AccountID != e.Account:
		return &ForeignError{Kind: kind, Name: id, Env: e.Name, ViaState: true, Reason: "it is in account " + a.AccountID + ", this run works in " + e.Account}
	case e.Region != "" && a.Region != "" && a.Region != e.Region:
		return &ForeignError{Kind: kind, Name: id, Env: e.Name, ViaState: true, Reason: "it is in region " + a.Region + ", this run works in " + e.Region}
	}
	return nil
}

// lookup says how a step finds one resource. findOwned tries the state file's ID, then the
// environment's tags, then the resource's name, and proves what it finds.
type lookup[T any] struct {
	kind, name string // for messages: "VPC", "microservices-vpc-pr1"
	stateID    string // the state file's ID, "" when none
	// byID reads the resource with that ID; nil when AWS has none.
	byID func(id string) (*T, error)
	// byTags lists the resources carrying the environment's tags (and Name): the filters
	// asked for them, but not every implementation honours filters, so they are proven too.
	byTags func() ([]*T, error)
	// byName reads whatever holds the name, whoever owns it.
	byName func() (*T, error)
	// tags reads a found resource's tags; id names it in messages.
	tags func(*T) (map[string]string, error)
	id   func(*T) string
}

// findOwned returns the environment's resource, nil when there is none. A foreign resource
// found by the state file's ID is an error on every command; one found by name is an error
// for up and plan, and nil (left alone, said once in the log) for down.
func findOwned[T any](e *Env, l lookup[T]) (*T, error) {
	if l.stateID != "" && l.byID != nil {
		if err := e.checkStateARN(l.kind, l.stateID); err != nil {
			return nil, err
		}
		r, err := l.byID(l.stateID)
		if err != nil {
			return nil, err
		}
		if r != nil {
			tags, err := l.tags(r)
			if err != nil {
				return nil, err
			}
			if err := e.prove(l.kind, l.stateID, tags, true); err != nil {
				return nil, err
			}
			return r, nil
		}
	}
	if l.byTags != nil {
		found, err := l.byTags()
		if err != nil {
			return nil, err
		}
		var owned []*T
		for _, r := range found {
			tags, err := l.tags(r)
			if err != nil {
				return nil, err
			}
			if e.owns(tags) {
				owned = append(owned, r)
			}
		}
		if len(owned) > 1 {
			ids := make([]string, len(owned))
			for i, r := range owned {
				ids[i] = l.id(r)
			}
			sort.Strings(ids)
			return nil, fmt.Errorf("found %d %ss tagged as %s of environment %s (%s); delete all but one by hand%s, then run again",
				len(owned), l.kind, l.name, e.Name, strings.Join(ids, ", "), removeHint(l.kind, ids[1:]))
		}
		if len(owned) == 1 {
			return owned[0], nil
		}
	}
	if l.byName != nil {
		r, err := l.byName()
		if err != nil || r == nil {
			return nil, err
		}
		tags, err := l.tags(r)
		if err != nil {
			return nil, err
		}
		if err := e.prove(l.kind, l.name, tags, false); err != nil {
			return nil, e.foreignByName(err)
		}
		return r, nil
	}
	return nil, nil
}

// removeCommands say how to delete one resource of the kinds found by their tags, where two
// runs without a shared state could each make one ({id} is its ID).
var removeCommands = map[string]string{
	"VPC":                 "aws ec2 delete-vpc --vpc-id {id}, once its subnets, gateways and security groups are gone",
	"internet gateway":    "aws ec2 detach-internet-gateway --internet-gateway-id {id} --vpc-id VPC, then aws ec2 delete-internet-gateway --internet-gateway-id {id}",
	"KMS key":             "aws kms schedule-key-deletion --key-id {id} --pending-window-in-days 7",
	"Cloud Map namespace": "aws servicediscovery delete-namespace --id {id}",
	"Elastic IP":          "aws ec2 release-address --allocation-id {id}",
	"NAT gateway":         "aws ec2 delete-nat-gateway --nat-gateway-id {id}",
}

// removeHint is " (the command for each extra ID)" for a kind removeCommands knows, else "".
func removeHint(kind string, extra []string) string {
	command, ok := removeCommands[kind]
	if !ok || len(extra) == 0 {
		return ""
	}
	var each []string
	for _, id := range extra {
		each = append(each, strings.ReplaceAll(command, "{id}", id))
	}
	return " (for example " + strings.Join(each, "; ") + ")"
}

// foreignByName is what a foreign resource found by its name means for this run: an error for
// up and plan; for down, a resource to leave alone, said once.
func (e *Env) foreignByName(err error) error {
	f, ok := err.(*ForeignError)
	if !ok || !e.destroying {
		return err
	}
	if e.discovery.noteLeftAlone(f.Kind + " " + f.Name) {
		e.Log.Warn().Str("resource", f.Kind+" "+f.Name).Interface("tags", f.Owner).
			Msgf("leaving %s %s alone: it is not environment %s's", f.Kind, f.Name, e.Name)
	}
	return nil
}

// noteLeftAlone reports whether this is the first time the run leaves resource alone.
func (d *discovery) noteLeftAlone(resource string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.leftAlone == nil {
		d.leftAlone = map[string]bool{}
	}
	first := !d.leftAlone[resource]
	d.leftAlone[resource] = true
	return first
}

// ForeignErrors collects the ForeignErrors among errs (from a joined error), sorted by message.
func ForeignErrors(err error) []*ForeignError {
	var out []*ForeignError
	var walk func(error)
	walk = func(err error) {
		switch x := err.(type) {
		case nil:
		case *ForeignError:
			out = append(out, x)
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		}
	}
	walk(err)
	slices.SortFunc(out, func(a, b *ForeignError) int { return strings.Compare(a.Error(), b.Error()) })
	return slices.CompactFunc(out, func(a, b *ForeignError) bool { return a.Error() == b.Error() })
}

// pointers lists pointers to the elements of a slice, as lookups return them.
func pointers[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

// taggedKinds are the services whose describe calls carry no tags: the tagging index proves
// their resources in one call instead of one tag read each.
var taggedKinds = []string{"elasticloadbalancing", "ecr", "logs", "cloudwatch", "kms", "servicediscovery"}

// taggedIndex is the environment's resources as the Resource Groups Tagging API lists them
// (ARN -> tags), once per run. It only ever proves: an ARN missing from it (the index lags a
// create by up to minutes, some implementations leave kinds out, the caller may lack
// tag:GetResources) is read directly (tagsByARN).
func taggedIndex(ctx context.Context, e *Env) map[string]map[string]string {
	index, _ := discover(e, "tagged-index", func() (map[string]map[string]string, error) {
		index := map[string]map[string]string{}
		p := tagging.NewGetResourcesPaginator(e.AWS.Tagging, &tagging.GetResourcesInput{
			ResourceTypeFilters: taggedKinds,
			TagFilters: []taggingtypes.TagFilter{
				{Key: aws.String(TagManagedBy), Values: []string{ManagedByValue}},
				{Key: aws.String(TagEnvironment), Values: []string{e.Name}},
			},
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				e.Log.Debug().Err(err).Msg("the tagging index is not available; reading each resource's tags instead")
				return map[string]map[string]string{}, nil
			}
			for _, r := range page.ResourceTagMappingList {
				index[aws.ToString(r.ResourceARN)] = tagMap(r.Tags, func(t taggingtypes.Tag) (*string, *string) { return t.Key, t.Value })
			}
		}
		return index, nil
	})
	return index
}

// tagsByARN are a resource's tags: from the tagging index when it lists the resource, else
// from direct, the resource's own tag read.
func tagsByARN(ctx context.Context, e *Env, arn string, direct func() (map[string]string, error)) (map[string]string, error) {
	if tags, ok := taggedIndex(ctx, e)[arn]; ok {
		return tags, nil
	}
	return direct()
}
