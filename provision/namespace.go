package provision

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

const namespaceWait = 10 * time.Minute

// namespaceStep owns the Cloud Map private DNS namespace {env}.local (SPEC row 9).
type namespaceStep struct{}

func (namespaceStep) Name() string        { return keyNamespace }
func (namespaceStep) DependsOn() []string { return []string{keyVPC} }

// findNamespace reads the namespace by the state file's ID, else lists the private namespaces
// named {env}.local (the same private name may exist in other VPCs) and keeps ours. Once per run.
func findNamespace(ctx context.Context, e *Env) (*sdtypes.Namespace, error) {
	return engine.Discover(e.Run, "namespace", func() (*sdtypes.Namespace, error) {
		get := func(id string) (*sdtypes.Namespace, error) {
			out, err := e.AWS.ServiceDisc.GetNamespace(ctx, &sd.GetNamespaceInput{Id: aws.String(id)})
			if cloud.IsNotFound(err) {
				return nil, nil
			}
			if err != nil {
				return nil, fmt.Errorf("describing namespace %s: %w", id, err)
			}
			return out.Namespace, nil
		}
		return engine.FindOwned(e.Run, engine.Lookup[sdtypes.Namespace]{
			Kind: "Cloud Map namespace", Name: e.Names.Namespace(), StateID: e.StateID(keyNamespace),
			ByID: get,
			ByTags: func() ([]*sdtypes.Namespace, error) {
				var found []*sdtypes.Namespace
				p := sd.NewListNamespacesPaginator(e.AWS.ServiceDisc, &sd.ListNamespacesInput{Filters: []sdtypes.NamespaceFilter{{
					Name: sdtypes.NamespaceFilterNameType, Values: []string{string(sdtypes.NamespaceTypeDnsPrivate)}, Condition: sdtypes.FilterConditionEq,
				}}})
				for p.HasMorePages() {
					page, err := p.NextPage(ctx)
					if err != nil {
						return nil, fmt.Errorf("listing Cloud Map namespaces: %w", err)
					}
					for _, ns := range page.Namespaces {
						if aws.ToString(ns.Name) != e.Names.Namespace() {
							continue
						}
						tags, err := cloudMapTags(ctx, e, aws.ToString(ns.Arn))
						if err != nil {
							return nil, err
						}
						if e.Owns(tags) {
							got, err := get(aws.ToString(ns.Id))
							if err != nil {
								return nil, err
							}
							if got != nil {
								found = append(found, got)
							}
						}
					}
				}
				return found, nil
			},
			Tags: func(ns *sdtypes.Namespace) (map[string]string, error) {
				return cloudMapTags(ctx, e, aws.ToString(ns.Arn))
			},
			ID: func(ns *sdtypes.Namespace) string { return aws.ToString(ns.Id) },
		})
	})
}

// cloudMapTags reads the tags of a Cloud Map namespace or service.
func cloudMapTags(ctx context.Context, e *Env, arn string) (map[string]string, error) {
	return tagsByARN(ctx, e, arn, func() (map[string]string, error) {
		out, err := e.AWS.ServiceDisc.ListTagsForResource(ctx, &sd.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
		if err != nil {
			return nil, fmt.Errorf("reading the tags of %s: %w", arn, err)
		}
		return TagMap(out.Tags, func(t sdtypes.Tag) (*string, *string) { return t.Key, t.Value }), nil
	})
}

func (namespaceStep) Claim(ctx context.Context, e *Env) error {
	_, err := findNamespace(ctx, e)
	return err
}

// waitOperation polls a Cloud Map operation until it ends; namespace operations take about a
// minute on AWS. It returns the operation's targets.
func waitOperation(ctx context.Context, e *Env, opID string) (map[string]string, error) {
	deadline := time.Now().Add(namespaceWait)
	delay := time.Second
	for {
		out, err := e.AWS.ServiceDisc.GetOperation(ctx, &sd.GetOperationInput{OperationId: aws.String(opID)})
		if err != nil {
			return nil, fmt.Errorf("polling Cloud Map operation %s: %w", opID, err)
		}
		switch out.Operation.Status {
		case sdtypes.OperationStatusSuccess:
			return out.Operation.Targets, nil
		case sdtypes.OperationStatusFail:
			return nil, fmt.Errorf("Cloud Map operation %s failed: %s: %s", opID, aws.ToString(out.Operation.ErrorCode), aws.ToString(out.Operation.ErrorMessage))
		}
		if time.Now().Add(delay).After(deadline) {
			return nil, fmt.Errorf("Cloud Map operation %s still %s after %s", opID, out.Operation.Status, namespaceWait)
		}
		e.Log.Info().Str("operation", opID).Str("status", string(out.Operation.Status)).Msg("waiting for Cloud Map")
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, pollMaxDelay)
	}
}

func (namespaceStep) Up(ctx context.Context, e *Env) error {
	vpcID, err := e.VPCID()
	if err != nil {
		return err
	}
	name := e.Names.Namespace()
	ns, err := findNamespace(ctx, e)
	if err != nil {
		return err
	}
	if ns != nil {
		if err := e.Record(keyNamespace, state.Resource{ID: aws.ToString(ns.Id), ARN: aws.ToString(ns.Arn)}); err != nil {
			return err
		}
		e.Unchanged("namespace "+name, aws.ToString(ns.Id))
		return e.Forget(keyNamespaceOperation)
	}
	opID := e.StateID(keyNamespaceOperation)
	if opID == "" {
		out, err := e.AWS.ServiceDisc.CreatePrivateDnsNamespace(ctx, &sd.CreatePrivateDnsNamespaceInput{
			Name: aws.String(name), Vpc: aws.String(vpcID),
			Description:      aws.String("tapctl environment " + e.Name),
			CreatorRequestId: aws.String(requestToken(e.Name, "namespace", vpcID)),
			Tags:             e.serviceDiscoveryTags(name, ""),
		})
		if err != nil {
			return fmt.Errorf("creating namespace %s in %s: %w", name, vpcID, err)
		}
		opID = aws.ToString(out.OperationId)
		if err := e.Record(keyNamespaceOperation, state.Resource{ID: opID}); err != nil {
			return err
		}
	}
	targets, err := waitOperation(ctx, e, opID)
	if err != nil {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	id := targets[string(sdtypes.OperationTargetTypeNamespace)]
	got, err := e.AWS.ServiceDisc.GetNamespace(ctx, &sd.GetNamespaceInput{Id: aws.String(id)})
	if err != nil {
		return fmt.Errorf("describing namespace %s: %w", id, err)
	}
	if err := e.Record(keyNamespace, state.Resource{ID: id, ARN: aws.ToString(got.Namespace.Arn)}); err != nil {
		return err
	}
	e.Created("namespace "+name, id)
	return e.Forget(keyNamespaceOperation)
}

func (namespaceStep) Down(ctx context.Context, e *Env) error {
	ns, err := findNamespace(ctx, e)
	if err != nil {
		return err
	}
	if ns != nil {
		id := aws.ToString(ns.Id)
		var opID string
		// AWS refuses while Cloud Map services remain; they go once their ECS services are deleted.
		err := retryWhileInUse(ctx, "namespace "+id, e.Timeouts.Dependencies, cloud.DependencyCodes, func(ctx context.Context) error {
			out, err := e.AWS.ServiceDisc.DeleteNamespace(ctx, &sd.DeleteNamespaceInput{Id: aws.String(id)})
			if err == nil {
				opID = aws.ToString(out.OperationId)
			}
			return err
		})
		if err != nil && !cloud.IsNotFound(err) {
			return fmt.Errorf("deleting namespace %s: %w", id, err)
		}
		if opID != "" {
			if _, err := waitOperation(ctx, e, opID); err != nil {
				return fmt.Errorf("deleting namespace %s: %w", id, err)
			}
		}
		e.Deleted("namespace "+e.Names.Namespace(), id)
	}
	if err := e.Forget(keyNamespaceOperation); err != nil {
		return err
	}
	return e.Forget(keyNamespace)
}

func (namespaceStep) Inspect(ctx context.Context, e *Env) []Status {
	ns, err := findNamespace(ctx, e)
	return []Status{{Resource: "namespace " + e.Names.Namespace(), StateID: e.StateID(keyNamespace),
		AWS: engine.Observe(err, ns != nil, func() string { return string(ns.Type) })}}
}
