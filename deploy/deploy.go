package deploy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/provision"
	"github.com/tapctl/tapctl/state"
)

// Started is a deployment that ECS has accepted.
type Started struct {
	Service          catalog.Service
	ServiceName      string
	Previous, Target string // task definition ARNs
}

// runningService reads the ECS service a deploy or rollback acts on, proven the environment's.
func runningService(ctx context.Context, e *provision.Env, svc catalog.Service) (*ecstypes.Service, error) {
	return provision.OwnedService(ctx, e, svc)
}

// revision reads a revision with its tags and proves it is the environment's.
func revision(ctx context.Context, e *provision.Env, arn string) (*ecs.DescribeTaskDefinitionOutput, error) {
	td, err := e.AWS.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(arn), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags},
	})
	if err != nil {
		return nil, fmt.Errorf("describing task definition %s: %w", arn, err)
	}
	return td, provision.ProveTaskDefinition(e, arn, td.Tags)
}

// withImage copies a registered task definition into a new registration that differs only in
// the image of one container.
func withImage(td *ecstypes.TaskDefinition, tags []ecstypes.Tag, container, image string) (*ecs.RegisterTaskDefinitionInput, error) {
	in := &ecs.RegisterTaskDefinitionInput{
		Family: td.Family, TaskRoleArn: td.TaskRoleArn, ExecutionRoleArn: td.ExecutionRoleArn, NetworkMode: td.NetworkMode,
		ContainerDefinitions: append([]ecstypes.ContainerDefinition(nil), td.ContainerDefinitions...),
		Volumes:              td.Volumes, PlacementConstraints: td.PlacementConstraints, RequiresCompatibilities: td.RequiresCompatibilities,
		Cpu: td.Cpu, Memory: td.Memory, PidMode: td.PidMode, IpcMode: td.IpcMode, ProxyConfiguration: td.ProxyConfiguration,
		InferenceAccelerators: td.InferenceAccelerators, EphemeralStorage: td.EphemeralStorage, RuntimePlatform: td.RuntimePlatform,
		EnableFaultInjection: td.EnableFaultInjection, Tags: tags,
	}
	for i := range in.ContainerDefinitions {
		if aws.ToString(in.ContainerDefinitions[i].Name) == container {
			in.ContainerDefinitions[i].Image = aws.String(image)
			return in, nil
		}
	}
	return nil, fmt.Errorf("task definition %s has no container %s", aws.ToString(td.TaskDefinitionArn), container)
}

// Deploy registers a revision of the running one with a new image and points the service at it.
// The state file records the revision it replaces, for rollback, before the service changes.
func Deploy(ctx context.Context, e *provision.Env, svc catalog.Service, image string) (Started, error) {
	running, err := runningService(ctx, e, svc)
	if err != nil {
		return Started{}, err
	}
	current := aws.ToString(running.TaskDefinition)
	td, err := revision(ctx, e, current)
	if err != nil {
		return Started{}, err
	}
	container := e.Names.Container(svc.Name)
	in, err := withImage(td.TaskDefinition, td.Tags, container, image)
	if err != nil {
		return Started{}, err
	}
	previousImage := imageOf(td.TaskDefinition, container)
	reg, err := e.AWS.ECS.RegisterTaskDefinition(ctx, in)
	if err != nil {
		return Started{}, fmt.Errorf("registering a revision of %s with image %s: %w", aws.ToString(in.Family), image, err)
	}
	target := aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
	e.Created("task definition "+target, target)
	if err := recordDeployment(e, svc, target, image, current, previousImage); err != nil {
		return Started{}, err
	}
	return update(ctx, e, svc, current, target)
}

// Rollback points the service back at the revision that served before the last deploy.
func Rollback(ctx context.Context, e *provision.Env, svc catalog.Service) (Started, error) {
	rec, ok := e.State.Get(deploymentKey(svc))
	if !ok || rec.Attrs[provision.AttrPrevious] == "" {
		return Started{}, fmt.Errorf("no earlier revision of %s is recorded (no tapctl deploy yet); nothing to roll back to", svc.Name)
	}
	if _, err := runningService(ctx, e, svc); err != nil {
		return Started{}, err
	}
	current, target := rec.ID, rec.Attrs[provision.AttrPrevious]
	if _, err := revision(ctx, e, target); err != nil {
		return Started{}, err
	}
	if err := recordDeployment(e, svc, target, rec.Attrs[provision.AttrPreviousImage], current, rec.Attrs[provision.AttrImage]); err != nil {
		return Started{}, err
	}
	return update(ctx, e, svc, current, target)
}

// Forget undoes the record of a deployment ECS rolled back, and deregisters its revision, so
// the next up does not deploy the failed image again.
func Forget(ctx context.Context, e *provision.Env, s Started) error {
	rec, _ := e.State.Get(deploymentKey(s.Service))
	if err := recordDeployment(e, s.Service, s.Previous, rec.Attrs[provision.AttrPreviousImage], "", ""); err != nil {
		return err
	}
	if _, err := e.AWS.ECS.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(s.Target)}); err != nil {
		return fmt.Errorf("deregistering rolled-back revision %s: %w", s.Target, err)
	}
	return nil
}

func update(ctx context.Context, e *provision.Env, svc catalog.Service, current, target string) (Started, error) {
	name := e.Names.Service(svc.Name)
	if _, err := e.AWS.ECS.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String(e.Names.Cluster()), Service: aws.String(name), TaskDefinition: aws.String(target),
	}); err != nil {
		return Started{}, fmt.Errorf("updating ECS service %s to %s: %w", name, target, err)
	}
	e.Updated("ECS service "+name, name, "task definition "+target)
	return Started{Service: svc, ServiceName: name, Previous: current, Target: target}, nil
}

func deploymentKey(svc catalog.Service) string { return provision.DeploymentKey(svc.Name) }

// recordDeployment keeps what serves now and what served before. up reads the image from it, so
// a later up keeps the deployed image instead of the catalog's.
func recordDeployment(e *provision.Env, svc catalog.Service, target, image, previous, previousImage string) error {
	attrs := map[string]string{provision.AttrImage: image}
	if previous != "" {
		attrs[provision.AttrPrevious], attrs[provision.AttrPreviousImage] = previous, previousImage
	}
	return e.Record(deploymentKey(svc), state.Resource{ID: target, Attrs: attrs})
}

func imageOf(td *ecstypes.TaskDefinition, container string) string {
	for _, c := range td.ContainerDefinitions {
		if aws.ToString(c.Name) == container {
			return aws.ToString(c.Image)
		}
	}
	return ""
}
