package provision

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// taskDefinitionStep owns a service's task definition family (SPEC row 18). A new revision is
// registered only when the latest one differs from the spec in a field tapctl sets.
type taskDefinitionStep struct{ svc catalog.Service }

func (s taskDefinitionStep) Name() string { return serviceKey(s.svc.Name, kindTaskDefinition) }
func (s taskDefinitionStep) DependsOn() []string {
	n := s.svc.Name
	return []string{serviceKey(n, kindExecutionRole), serviceKey(n, kindTaskRole), serviceKey(n, kindLogGroup), keySecret}
}
func (s taskDefinitionStep) key() string { return s.Name() }

// DownDependsOn: nothing needs to outlive a task definition, which only names its roles, log
// group and secret; once the service is gone (ecsServiceStep keeps those until then) they go
// beside it, a shorter teardown.
func (s taskDefinitionStep) DownDependsOn() []string { return nil }

// image is the catalog's image until tapctl deploy ships another: from then on the deployed
// image is the one up keeps, so an up after a deploy does not undo it.
func (s taskDefinitionStep) image(e *Env) string {
	if d, ok := e.State.Get(DeploymentKey(s.svc.Name)); ok && d.Attrs[AttrImage] != "" {
		return d.Attrs[AttrImage]
	}
	return s.svc.Image
}

// desired is the registration tapctl wants for the service.
func (s taskDefinitionStep) desired(e *Env) (*ecs.RegisterTaskDefinitionInput, error) {
	n := s.svc.Name
	execRole, err := e.Require(serviceKey(n, kindExecutionRole))
	if err != nil {
		return nil, err
	}
	taskRole, err := e.Require(serviceKey(n, kindTaskRole))
	if err != nil {
		return nil, err
	}
	secret, err := e.Require(keySecret)
	if err != nil {
		return nil, err
	}
	container := ecstypes.ContainerDefinition{
		Name:      aws.String(e.Names.Container(n)),
		Image:     aws.String(s.image(e)),
		Essential: aws.Bool(true),
		// Named, with an app protocol, as Service Connect needs; harmless in the other modes.
		PortMappings: []ecstypes.PortMapping{{
			Name: aws.String(PortName(s.svc)), ContainerPort: aws.Int32(s.svc.Port),
			Protocol: ecstypes.TransportProtocolTcp, AppProtocol: ecstypes.ApplicationProtocolHttp,
		}},
		LogConfiguration: &ecstypes.LogConfiguration{
			LogDriver: ecstypes.LogDriverAwslogs,
			Options: map[string]string{
				"awslogs-group": e.Names.LogGroup(n), "awslogs-region": e.Region, "awslogs-stream-prefix": n,
			},
		},
		Environment: s.environment(e),
		// ECS reads the JSON keys of the secret at task start; the value never passes through tapctl.
		Secrets: []ecstypes.Secret{
			{Name: aws.String("DB_PASSWORD"), ValueFrom: aws.String(secret.ARN + ":password::")},
			{Name: aws.String("DB_USERNAME"), ValueFrom: aws.String(secret.ARN + ":username::")},
		},
	}
	return &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(e.Names.TaskFamily(n)),
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		NetworkMode:             ecstypes.NetworkModeAwsvpc,
		Cpu:                     aws.String(fmt.Sprint(s.svc.CPU)),
		Memory:                  aws.String(fmt.Sprint(s.svc.Memory)),
		ExecutionRoleArn:        aws.String(execRole.ARN),
		TaskRoleArn:             aws.String(taskRole.ARN),
		ContainerDefinitions:    []ecstypes.ContainerDefinition{container},
		Tags:                    e.ecsTags(e.Names.TaskFamily(n), n),
	}, nil
}

// environment is what tapctl sets for every service, then the catalog's own variables, sorted
// (the catalog refuses names tapctl sets and names that look like secrets).
func (s taskDefinitionStep) environment(e *Env) []ecstypes.KeyValuePair {
	out := []ecstypes.KeyValuePair{
		{Name: aws.String("SERVICE_NAME"), Value: aws.String(s.svc.Name)},
		{Name: aws.String("ENVIRONMENT"), Value: aws.String(e.Name)},
		{Name: aws.String("PORT"), Value: aws.String(fmt.Sprint(s.svc.Port))},
	}
	for _, k := range slices.Sorted(maps.Keys(s.svc.Environment)) {
		out = append(out, ecstypes.KeyValuePair{Name: aws.String(k), Value: aws.String(s.svc.Environment[k])})
	}
	return out
}

// sameTaskDefinition compares the fields tapctl sets; ECS adds others of its own.
func sameTaskDefinition(have *ecstypes.TaskDefinition, want *ecs.RegisterTaskDefinitionInput) bool {
	if aws.ToString(have.Cpu) != aws.ToString(want.Cpu) || aws.ToString(have.Memory) != aws.ToString(want.Memory) ||
		have.NetworkMode != want.NetworkMode || !slices.Equal(have.RequiresCompatibilities, want.RequiresCompatibilities) ||
		aws.ToString(have.ExecutionRoleArn) != aws.ToString(want.ExecutionRoleArn) ||
		aws.ToString(have.TaskRoleArn) != aws.ToString(want.TaskRoleArn) || len(have.ContainerDefinitions) != 1 {
		return false
	}
	h, w := have.ContainerDefinitions[0], want.ContainerDefinitions[0]
	if aws.ToString(h.Name) != aws.ToString(w.Name) || aws.ToString(h.Image) != aws.ToString(w.Image) ||
		aws.ToBool(h.Essential) != aws.ToBool(w.Essential) || len(h.PortMappings) != len(w.PortMappings) ||
		h.LogConfiguration == nil || h.LogConfiguration.LogDriver != w.LogConfiguration.LogDriver {
		return false
	}
	for i := range w.PortMappings {
		hp, wp := h.PortMappings[i], w.PortMappings[i]
		if aws.ToInt32(hp.ContainerPort) != aws.ToInt32(wp.ContainerPort) || hp.Protocol != wp.Protocol ||
			aws.ToString(hp.Name) != aws.ToString(wp.Name) || hp.AppProtocol != wp.AppProtocol {
			return false
		}
	}
	for k, v := range w.LogConfiguration.Options {
		if h.LogConfiguration.Options[k] != v {
			return false
		}
	}
	envPair := func(p ecstypes.KeyValuePair) (*string, *string) { return p.Name, p.Value }
	secretPair := func(s ecstypes.Secret) (*string, *string) { return s.Name, s.ValueFrom }
	return slices.Equal(sortedPairs(h.Environment, envPair), sortedPairs(w.Environment, envPair)) &&
		slices.Equal(sortedPairs(h.Secrets, secretPair), sortedPairs(w.Secrets, secretPair))
}

// sortedPairs spells each item as name=value, sorted: ECS may answer in another order.
func sortedPairs[T any](items []T, pair func(T) (*string, *string)) []string {
	var out []string
	for _, item := range items {
		name, value := pair(item)
		out = append(out, aws.ToString(name)+"="+aws.ToString(value))
	}
	slices.Sort(out)
	return out
}

// needsNewRevision says whether up registers a revision: the family has no active one of the
// environment's, or the current one differs from the spec in a field tapctl sets.
func needsNewRevision(have *ecstypes.TaskDefinition, want *ecs.RegisterTaskDefinitionInput) bool {
	return have == nil || !sameTaskDefinition(have, want)
}

// current is the revision the last deploy or rollback chose, while it is active, else the
// family's newest active revision: after a rollback the newest one is the revision rolled away
// from. Either must be the environment's: a family is only a name, which another team may use.
func (s taskDefinitionStep) current(ctx context.Context, e *Env) (*ecstypes.TaskDefinition, error) {
	td, err := engine.Discover(e.Run, "task-definition/"+s.svc.Name, func() (*taggedTaskDefinition, error) {
		deployed := ""
		if d, ok := e.State.Get(DeploymentKey(s.svc.Name)); ok {
			deployed = d.ID
		}
		return engine.FindOwned(e.Run, engine.Lookup[taggedTaskDefinition]{
			Kind: "task definition", Name: e.Names.TaskFamily(s.svc.Name), StateID: deployed,
			ByID: func(arn string) (*taggedTaskDefinition, error) { return describeTaskDefinition(ctx, e, arn) },
			ByName: func() (*taggedTaskDefinition, error) {
				return describeTaskDefinition(ctx, e, e.Names.TaskFamily(s.svc.Name))
			},
			Tags: func(td *taggedTaskDefinition) (map[string]string, error) { return td.tags, nil },
			ID:   func(td *taggedTaskDefinition) string { return aws.ToString(td.TaskDefinitionArn) },
		})
	})
	if err != nil || td == nil {
		return nil, err
	}
	return td.TaskDefinition, nil
}

// taggedTaskDefinition is a revision with its tags.
type taggedTaskDefinition struct {
	*ecstypes.TaskDefinition
	tags map[string]string
}

func (s taskDefinitionStep) Claim(ctx context.Context, e *Env) error {
	_, err := s.current(ctx, e)
	return err
}

// describeTaskDefinition reads a revision (or a family's newest) with its tags; nil when it is
// missing or no longer active. ECS answers ClientException for a family with no active revision.
func describeTaskDefinition(ctx context.Context, e *Env, id string) (*taggedTaskDefinition, error) {
	out, err := e.AWS.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(id), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags},
	})
	if cloud.IsNotFound(err) || cloud.HasCode(err, "ClientException") {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describing task definition %s: %w", id, err)
	}
	if out.TaskDefinition.Status != ecstypes.TaskDefinitionStatusActive {
		return nil, nil
	}
	return &taggedTaskDefinition{out.TaskDefinition, ecsTagMap(out.Tags)}, nil
}

func (s taskDefinitionStep) Up(ctx context.Context, e *Env) error {
	want, err := s.desired(e)
	if err != nil {
		return err
	}
	have, err := s.current(ctx, e)
	if err != nil {
		return err
	}
	if !needsNewRevision(have, want) {
		arn := aws.ToString(have.TaskDefinitionArn)
		e.Unchanged("task definition "+arn, arn)
		return e.Record(s.key(), state.Resource{ID: arn, ARN: arn})
	}
	out, err := e.AWS.ECS.RegisterTaskDefinition(ctx, want)
	if err != nil {
		return fmt.Errorf("registering task definition %s: %w", aws.ToString(want.Family), err)
	}
	arn := aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	if err := e.Record(s.key(), state.Resource{ID: arn, ARN: arn}); err != nil {
		return err
	}
	if have == nil {
		e.Created("task definition "+arn, arn)
	} else {
		e.Updated("task definition "+aws.ToString(want.Family), arn, "new revision")
	}
	return nil
}

// revisions lists every revision ARN of exactly this family (familyPrefix also matches longer names).
func (s taskDefinitionStep) revisions(ctx context.Context, e *Env, status ecstypes.TaskDefinitionStatus) ([]string, error) {
	family := e.Names.TaskFamily(s.svc.Name)
	var arns []string
	p := ecs.NewListTaskDefinitionsPaginator(e.AWS.ECS, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family), Status: status})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing task definitions of %s: %w", family, err)
		}
		for _, arn := range page.TaskDefinitionArns {
			if strings.HasSuffix(arn[:strings.LastIndex(arn, ":")], "task-definition/"+family) {
				arns = append(arns, arn)
			}
		}
	}
	return arns, nil
}

// owned keeps the revisions that are the environment's: a family is only a name, and another
// team's revisions in it are left alone (said once). The revisions are described side by side.
func (s taskDefinitionStep) owned(ctx context.Context, e *Env, arns []string) ([]string, error) {
	mine := make([]bool, len(arns))
	err := eachAtOnce(len(arns), func(i int) error {
		arn := arns[i]
		o, err := e.AWS.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
		if cloud.IsNotFound(err) || cloud.HasCode(err, "ClientException") {
			return nil
		}
		if err != nil {
			return fmt.Errorf("describing task definition %s: %w", arn, err)
		}
		if err := e.Prove("task definition", arn, ecsTagMap(o.Tags), false); err != nil {
			return e.ForeignByName(err)
		}
		mine[i] = true
		return nil
	})
	var out []string
	for i, arn := range arns {
		if mine[i] {
			out = append(out, arn)
		}
	}
	return out, err
}

// Down deregisters the environment's active revisions and deletes them with the ones
// deregistered before (they stay listed, and tagged, until deleted): both listings, the
// describes and the deregistrations each go side by side, the deletes 10 per call. A down killed
// after a deregistration finds that revision among the inactive ones next time.
func (s taskDefinitionStep) Down(ctx context.Context, e *Env) error {
	var listed [2][]string
	statuses := [2]ecstypes.TaskDefinitionStatus{ecstypes.TaskDefinitionStatusActive, ecstypes.TaskDefinitionStatusInactive}
	if err := eachAtOnce(2, func(i int) (err error) {
		listed[i], err = s.revisions(ctx, e, statuses[i])
		return err
	}); err != nil {
		return err
	}
	owned, err := s.owned(ctx, e, append(listed[0], listed[1]...))
	if err != nil {
		return err
	}
	active := owned[:0:0]
	for _, arn := range owned {
		if slices.Contains(listed[0], arn) {
			active = append(active, arn)
		}
	}
	if err := eachAtOnce(len(active), func(i int) error {
		arn := active[i]
		if _, err := e.AWS.ECS.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil && !cloud.IsNotFound(err) {
			return fmt.Errorf("deregistering task definition %s: %w", arn, err)
		}
		e.Deleted("task definition "+arn, arn)
		return nil
	}); err != nil {
		return err
	}
	for i := 0; i < len(owned); i += 10 {
		batch := owned[i:min(i+10, len(owned))]
		if _, err := e.AWS.ECS.DeleteTaskDefinitions(ctx, &ecs.DeleteTaskDefinitionsInput{TaskDefinitions: batch}); err != nil && !cloud.IsNotFound(err) {
			return fmt.Errorf("deleting task definitions %v: %w", batch, err)
		}
	}
	if err := e.Forget(DeploymentKey(s.svc.Name)); err != nil {
		return err
	}
	return e.Forget(s.key())
}

func (s taskDefinitionStep) Inspect(ctx context.Context, e *Env) []Status {
	td, err := s.current(ctx, e)
	return []Status{{Resource: "task definition " + e.Names.TaskFamily(s.svc.Name), StateID: e.StateID(s.key()),
		AWS: engine.Observe(err, td != nil, func() string { return fmt.Sprintf("revision %d active", td.Revision) })}}
}
