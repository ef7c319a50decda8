package teardown

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsarn "github.com/aws/aws-sdk-go-v2/aws/arn"
	tagging "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	taggingtypes "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/provision"
)

// The sweep runs after the platform's steps deleted what they know by state ID, tags and name.
// It asks the Resource Groups Tagging API for everything still tagged ManagedBy=tapctl and
// Environment=E: a resource of another name, a second copy, something tagged by hand. Each one
// is read again from its own service, since the tagging index lists deleted resources for a
// while and lags tag changes: what AWS no longer has, or what is on its way out by design (a
// KMS key pending deletion, an INACTIVE task definition, a deleted NAT gateway), is passed
// over. Of the rest, the kinds that hold nothing else and serve no traffic are deleted, each
// only after its own tags prove it the environment's; the others are named, one line each, and
// down ends with an error, keeping the state file.

// Leftover is a resource tagged as the environment's that down did not delete.
type Leftover struct {
	ARN string
	Why string
}

// LeftoverError ends a down that left resources of the environment in AWS.
type LeftoverError struct {
	Env       string
	Resources []Leftover
}

// Summary is the first line of the error: what was left and what to do.
func (e *LeftoverError) Summary() string {
	noun, verb, them, their := "resources", "are", "them", "their"
	if len(e.Resources) == 1 {
		noun, verb, them, their = "resource", "is", "it", "its"
	}
	return fmt.Sprintf("down deleted the platform of %s, but %d %s tagged %s=%s, %s=%s %s left (below, with why); the state file is kept: delete %s by hand or remove %s tags, then run down again",
		e.Env, len(e.Resources), noun, engine.TagEnvironment, e.Env, engine.TagManagedBy, engine.ManagedByValue, verb, them, their)
}

func (e *LeftoverError) Error() string {
	lines := make([]string, len(e.Resources))
	for i, r := range e.Resources {
		lines[i] = r.ARN + " (" + r.Why + ")"
	}
	return e.Summary() + ": " + strings.Join(lines, "; ")
}

// resource is one ARN the tagging index lists as the environment's.
type resource struct {
	ARN  string
	Kind string // service and type: "logs:log-group", "ec2:security-group", "ecs:service"
	ID   string // what follows the type: a name, an ID or a path ("cluster/service" for ECS)
}

// parseResource splits an ARN into its kind and the rest; ok is false for what is not an ARN.
func parseResource(s string) (r resource, ok bool) {
	a, err := awsarn.Parse(s)
	if err != nil {
		return resource{ARN: s}, false
	}
	typ, id := a.Resource, ""
	if i := strings.IndexAny(a.Resource, "/:"); i >= 0 {
		typ, id = a.Resource[:i], a.Resource[i+1:]
	}
	return resource{ARN: s, Kind: a.Service + ":" + typ, ID: id}, true
}

// sweep deletes or reports what the tagging index still lists as the environment's. Each
// deletion is counted in the run's summary; what is left comes back as a LeftoverError.
func sweep(ctx context.Context, e *provision.Env) error {
	ctx = cloud.WithStep(ctx, "sweep")
	listed, err := listTagged(ctx, e)
	if err != nil {
		return err
	}
	looks := lookAll(ctx, e, listed)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var left []Leftover
	for i, r := range listed {
		if passedOver(r.Kind) {
			continue
		}
		k, known := kindOf(r.Kind)
		if !known {
			left = append(left, Leftover{r.ARN, "tapctl does not know this kind of resource, so down does not delete it"})
			continue
		}
		if deletedThisRun(e, r) {
			continue
		}
		f, err := looks[i].found, looks[i].err
		switch {
		case err != nil:
			left = append(left, Leftover{r.ARN, "reading it failed: " + cloud.Brief(err)})
		case f == nil:
			// AWS no longer has it, or it is on its way out: the index has not caught up yet.
		case f.remove == nil:
			left = append(left, Leftover{r.ARN, f.hold})
		case !owned(f.tags, e.Name):
			// Its own tags no longer say it is the environment's (the index lags tag changes).
			e.Log.Debug().Str("arn", r.ARN).Msg("the tagging index lists it as the environment's, its own tags do not: left alone")
		default:
			if err := f.remove(ctx); err != nil && !cloud.IsNotFound(err) {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				left = append(left, Leftover{r.ARN, "deleting it failed: " + cloud.Brief(err)})
				continue
			}
			e.Deleted(k.what+" "+f.name+", found by its tags", r.ARN)
		}
	}
	if len(left) > 0 {
		return &LeftoverError{Env: e.Name, Resources: left}
	}
	return nil
}

// lookAll reads each listed resource of a known kind again from its own service, side by side
// (reads only, at most sweepReads at once): the sweep acts on them afterwards, in order.
func lookAll(ctx context.Context, e *provision.Env, listed []resource) []looked {
	looks := make([]looked, len(listed))
	slots := make(chan struct{}, sweepReads)
	var wg sync.WaitGroup
	for i, r := range listed {
		k, known := kindOf(r.Kind)
		if passedOver(r.Kind) || !known || deletedThisRun(e, r) {
			continue
		}
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			looks[i].found, looks[i].err = k.look(ctx, e, r)
		})
	}
	wg.Wait()
	return looks
}

// deletedThisRun: the steps of this run deleted it (or set it on its way out, as a KMS key
// pending deletion): the index has not caught up yet, and reading it again would say so.
func deletedThisRun(e *provision.Env, r resource) bool {
	return e.Summary().DeletedID(r.ARN) || e.Summary().DeletedID(r.ID)
}

// sweepReads bounds the sweep's reads at once, as the default parallelism bounds the steps.
const sweepReads = 10

type looked struct {
	found *found
	err   error
}

// listTagged lists every resource tagged ManagedBy=tapctl and Environment=E (one paginated
// GetResources call), in the order the sweep deletes them.
func listTagged(ctx context.Context, e *provision.Env) ([]resource, error) {
	var out []resource
	pages := tagging.NewGetResourcesPaginator(e.AWS.Tagging, &tagging.GetResourcesInput{
		TagFilters: []taggingtypes.TagFilter{
			{Key: aws.String(engine.TagManagedBy), Values: []string{engine.ManagedByValue}},
			{Key: aws.String(engine.TagEnvironment), Values: []string{e.Name}},
		},
		ResourcesPerPage: aws.Int32(100),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("the platform of %s is deleted, but listing what else is tagged %s=%s, %s=%s failed (the state file is kept; down needs tag:GetResources): %w",
				e.Name, engine.TagEnvironment, e.Name, engine.TagManagedBy, engine.ManagedByValue, err)
		}
		for _, m := range page.ResourceTagMappingList {
			tags := map[string]string{}
			for _, t := range m.Tags {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			if !owned(tags, e.Name) {
				continue // some implementations ignore the filters: check the answer
			}
			r, ok := parseResource(aws.ToString(m.ResourceARN))
			if !ok {
				return nil, fmt.Errorf("listing the resources tagged as environment %s: %q is not an ARN", e.Name, r.ARN)
			}
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if a, b := deleteRank(out[i].Kind), deleteRank(out[j].Kind); a != b {
			return a < b
		}
		return out[i].ARN < out[j].ARN
	})
	return out, nil
}

// owned: the tags prove a resource is environment env's (SPEC "Ownership").
func owned(tags map[string]string, env string) bool {
	return tags[engine.TagManagedBy] == engine.ManagedByValue && tags[engine.TagEnvironment] == env
}

// passedOver are the kinds the sweep never reports: ECS's tasks carry their service's tags
// (propagated) and stop with it; they are ECS's to remove, not tapctl's.
func passedOver(kind string) bool { return kind == "ecs:task" }
