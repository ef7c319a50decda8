package engine

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	tagging "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	taggingtypes "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"
)

// Ownership (SPEC "Ownership"): a resource is environment E's only when it carries
// ManagedBy=tapctl and Environment=E. Every step proves it before it adopts, changes or
// deletes anything, on every path it finds a resource by: the state file's ID, its tags, or
// its name (FindOwned). A resource found by name that is not E's stops up and plan with a
// ForeignError; down leaves it alone and says so. A state file ID that names another
// environment's resource, or one of another region or account, is refused by every command.

// The tags that make a resource an environment's, and by which tapctl finds it again.
const (
	TagEnvironment = "Environment"
	TagManagedBy   = "ManagedBy"
	ManagedByValue = "tapctl"
)

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
		for _, k := range slices.Sorted(maps.Keys(f.Owner)) {
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

// Owns reports whether tags prove a resource is the environment's.
func (r *Run) Owns(tags map[string]string) bool {
	return tags[TagManagedBy] == ManagedByValue && tags[TagEnvironment] == r.Name
}

// Prove checks a found resource's tags; found by name, a foreign resource is refused in up and
// plan and left alone by down (ForeignByName).
func (r *Run) Prove(kind, name string, tags map[string]string, viaState bool) error {
	if r.Owns(tags) {
		return nil
	}
	owner := map[string]string{}
	for _, k := range []string{TagManagedBy, TagEnvironment} {
		if v, ok := tags[k]; ok {
			owner[k] = v
		}
	}
	return &ForeignError{Kind: kind, Name: name, Env: r.Name, Owner: owner, ViaState: viaState}
}

// CheckStateARN refuses a state file ID that is an ARN of another region or account: the run
// could not even see that resource, let alone prove it.
func (r *Run) CheckStateARN(kind, id string) error {
	a, err := arn.Parse(id)
	if err != nil {
		return nil // not an ARN: an EC2 ID, a name
	}
	switch {
	case r.Account != "" && a.AccountID != "" && a.AccountID != r.Account:
		return &ForeignError{Kind: kind, Name: id, Env: r.Name, ViaState: true, Reason: "it is in account " + a.AccountID + ", this run works in " + r.Account}
	case r.Region != "" && a.Region != "" && a.Region != r.Region:
		return &ForeignError{Kind: kind, Name: id, Env: r.Name, ViaState: true, Reason: "it is in region " + a.Region + ", this run works in " + r.Region}
	}
	return nil
}

// Lookup says how a step finds one resource. FindOwned tries the state file's ID, then the
// environment's tags, then the resource's name, and proves what it finds.
type Lookup[T any] struct {
	Kind, Name string // for messages: "VPC", "microservices-vpc-pr1"
	StateID    string // the state file's ID, "" when none
	// ByID reads the resource with that ID; nil when AWS has none.
	ByID func(id string) (*T, error)
	// ByTags lists the resources carrying the environment's tags (and Name): the filters
	// asked for them, but not every implementation honours filters, so they are proven too.
	ByTags func() ([]*T, error)
	// ByName reads whatever holds the name, whoever owns it.
	ByName func() (*T, error)
	// Tags reads a found resource's tags; ID names it in messages.
	Tags func(*T) (map[string]string, error)
	ID   func(*T) string
}

// FindOwned returns the environment's resource, nil when there is none. A foreign resource
// found by the state file's ID is an error on every command; one found by name is an error
// for up and plan, and nil (left alone, said once in the log) for down.
func FindOwned[T any](r *Run, l Lookup[T]) (*T, error) {
	if l.StateID != "" && l.ByID != nil {
		if err := r.CheckStateARN(l.Kind, l.StateID); err != nil {
			return nil, err
		}
		found, err := l.ByID(l.StateID)
		if err != nil {
			return nil, err
		}
		if found != nil {
			tags, err := l.Tags(found)
			if err != nil {
				return nil, err
			}
			if err := r.Prove(l.Kind, l.StateID, tags, true); err != nil {
				return nil, err
			}
			return found, nil
		}
	}
	if l.ByTags != nil {
		found, err := l.ByTags()
		if err != nil {
			return nil, err
		}
		var owned []*T
		for _, res := range found {
			tags, err := l.Tags(res)
			if err != nil {
				return nil, err
			}
			if r.Owns(tags) {
				owned = append(owned, res)
			}
		}
		if len(owned) > 1 {
			ids := make([]string, len(owned))
			for i, res := range owned {
				ids[i] = l.ID(res)
			}
			slices.Sort(ids)
			return nil, fmt.Errorf("found %d %ss tagged as %s of environment %s (%s); delete all but one by hand%s, then run again",
				len(owned), l.Kind, l.Name, r.Name, strings.Join(ids, ", "), removeHint(l.Kind, ids[1:]))
		}
		if len(owned) == 1 {
			return owned[0], nil
		}
	}
	if l.ByName != nil {
		found, err := l.ByName()
		if err != nil || found == nil {
			return nil, err
		}
		tags, err := l.Tags(found)
		if err != nil {
			return nil, err
		}
		if err := r.Prove(l.Kind, l.Name, tags, false); err != nil {
			return nil, r.ForeignByName(err)
		}
		return found, nil
	}
	return nil, nil
}

// ForeignByName is what a foreign resource found by its name means for this run: an error for
// up and plan; for down, a resource to leave alone, said once.
func (r *Run) ForeignByName(err error) error {
	f, ok := err.(*ForeignError)
	if !ok || !r.destroying {
		return err
	}
	if r.discovery.noteLeftAlone(f.Kind + " " + f.Name) {
		r.Log.Warn().Str("resource", f.Kind+" "+f.Name).Interface("tags", f.Owner).
			Msgf("leaving %s %s alone: it is not environment %s's", f.Kind, f.Name, r.Name)
	}
	return nil
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

// TagsByARN are a resource's tags: from the tagging index when it lists the resource, else
// from direct, the resource's own tag read. The index is the environment's resources of the
// given kinds ("elasticloadbalancing", "kms", ...) as the Resource Groups Tagging API lists them
// (ARN -> tags), read once per run. It only ever proves: an ARN missing from it (the index lags
// a create by up to minutes, some implementations leave kinds out, the caller may lack
// tag:GetResources) is read directly.
func TagsByARN(ctx context.Context, r *Run, api tagging.GetResourcesAPIClient, kinds []string, arn string, direct func() (map[string]string, error)) (map[string]string, error) {
	if tags, ok := TaggedIndex(ctx, r, api, kinds)[arn]; ok {
		return tags, nil
	}
	return direct()
}

// TaggedIndex is the tagging index TagsByARN proves by: the environment's resources of kinds,
// ARN -> tags, read once per run; empty when the API does not answer.
func TaggedIndex(ctx context.Context, r *Run, api tagging.GetResourcesAPIClient, kinds []string) map[string]map[string]string {
	index, _ := Discover(r, "tagged-index", func() (map[string]map[string]string, error) {
		index := map[string]map[string]string{}
		p := tagging.NewGetResourcesPaginator(api, &tagging.GetResourcesInput{
			ResourceTypeFilters: kinds,
			TagFilters: []taggingtypes.TagFilter{
				{Key: aws.String(TagManagedBy), Values: []string{ManagedByValue}},
				{Key: aws.String(TagEnvironment), Values: []string{r.Name}},
			},
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				r.Log.Debug().Err(err).Msg("the tagging index is not available; reading each resource's tags instead")
				return map[string]map[string]string{}, nil
			}
			for _, res := range page.ResourceTagMappingList {
				tags := make(map[string]string, len(res.Tags))
				for _, t := range res.Tags {
					tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
				index[aws.ToString(res.ResourceARN)] = tags
			}
		}
		return index, nil
	})
	return index
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
