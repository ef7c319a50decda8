package provision

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

var clusterCapacityProviders = []string{"FARGATE", "FARGATE_SPOT"}

// clusterStep owns the ECS cluster (SPEC row 8).
type clusterStep struct{ mesh MeshMode }

func (clusterStep) Name() string { return keyCluster }
func (c clusterStep) DependsOn() []string {
	if c.mesh == MeshServiceConnect {
		return []string{keyNamespace} // the namespace is the cluster's Service Connect default
	}
	return nil
}

// serviceConnectDefaults is the cluster's default namespace in Service Connect mode; in the
// other modes tapctl leaves the cluster's defaults alone.
func (c clusterStep) serviceConnectDefaults(e *Env) (*ecstypes.ClusterServiceConnectDefaultsRequest, error) {
	if c.mesh != MeshServiceConnect {
		return nil, nil
	}
	ns, err := e.Require(keyNamespace)
	if err != nil {
		return nil, err
	}
	return &ecstypes.ClusterServiceConnectDefaultsRequest{Namespace: aws.String(ns.ARN)}, nil
}

// findCluster must run before any create: a repeated CreateCluster resets the cluster on some
// emulators, and an INACTIVE cluster (deleted) counts as absent. Once per run.
func findCluster(ctx context.Context, e *Env) (*ecstypes.Cluster, error) {
	if e.base != nil { // an overlay's is its base's
		return findCluster(ctx, e.base)
	}
	return engine.Discover(e.Run, "cluster", func() (*ecstypes.Cluster, error) {
		return engine.FindOwned(e.Run, engine.Lookup[ecstypes.Cluster]{
			Kind: "ECS cluster", Name: e.Names.Cluster(),
			ByName: func() (*ecstypes.Cluster, error) {
				out, err := e.AWS.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{
					Clusters: []string{e.Names.Cluster()},
					Include:  []ecstypes.ClusterField{ecstypes.ClusterFieldSettings, ecstypes.ClusterFieldTags},
				})
				if err != nil {
					return nil, fmt.Errorf("describing ECS cluster %s: %w", e.Names.Cluster(), err)
				}
				for i := range out.Clusters {
					if aws.ToString(out.Clusters[i].Status) != "INACTIVE" {
						return &out.Clusters[i], nil
					}
				}
				return nil, nil
			},
			Tags: func(c *ecstypes.Cluster) (map[string]string, error) { return ecsTagMap(c.Tags), nil },
			ID:   func(c *ecstypes.Cluster) string { return aws.ToString(c.ClusterArn) },
		})
	})
}

func ecsTagMap(tags []ecstypes.Tag) map[string]string {
	return TagMap(tags, func(t ecstypes.Tag) (*string, *string) { return t.Key, t.Value })
}

func (clusterStep) Claim(ctx context.Context, e *Env) error {
	_, err := findCluster(ctx, e)
	return err
}

func containerInsightsOn(c *ecstypes.Cluster) bool {
	for _, s := range c.Settings {
		if s.Name == ecstypes.ClusterSettingNameContainerInsights {
			return aws.ToString(s.Value) == "enabled"
		}
	}
	return false
}

func (c clusterStep) Up(ctx context.Context, e *Env) error {
	name := e.Names.Cluster()
	defaults, err := c.serviceConnectDefaults(e)
	if err != nil {
		return err
	}
	cluster, err := findCluster(ctx, e)
	if err != nil {
		return err
	}
	if cluster == nil {
		out, err := e.AWS.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{
			ClusterName:            aws.String(name),
			Settings:               []ecstypes.ClusterSetting{{Name: ecstypes.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}},
			CapacityProviders:      clusterCapacityProviders,
			Tags:                   append(e.ecsTags(name, ""), c.meshTag()),
			ServiceConnectDefaults: defaults,
		})
		if err != nil {
			return fmt.Errorf("creating ECS cluster %s: %w", name, err)
		}
		return recordCreated(e, keyCluster, state.Resource{ID: name, ARN: aws.ToString(out.Cluster.ClusterArn)}, "ECS cluster "+name, name)
	}
	if err := e.Record(keyCluster, state.Resource{ID: name, ARN: aws.ToString(cluster.ClusterArn)}); err != nil {
		return err
	}
	fix := clusterCorrections(name, *cluster, defaults, c.meshTag())
	report := changeReport{e: e, resource: "ECS cluster " + name, id: name}
	if fix.insights != nil {
		// UpdateCluster takes the settings too, and is the call every ECS implementation serves.
		if _, err := e.AWS.ECS.UpdateCluster(ctx, fix.insights); err != nil {
			return fmt.Errorf("enabling Container Insights on %s: %w", name, err)
		}
		report.corrected("Container Insights enabled")
	}
	if fix.serviceConnect != nil {
		if _, err := e.AWS.ECS.UpdateCluster(ctx, fix.serviceConnect); err != nil {
			return fmt.Errorf("setting the Service Connect namespace of %s: %w", name, err)
		}
		report.corrected("Service Connect default namespace")
	}
	if fix.meshTag != nil {
		if _, err := e.AWS.ECS.TagResource(ctx, fix.meshTag); err != nil {
			return fmt.Errorf("tagging ECS cluster %s with its mesh mode: %w", name, err)
		}
		report.corrected("tag " + TagMesh + "=" + aws.ToString(fix.meshTag.Tags[0].Value))
	}
	if fix.capacityProviders != nil {
		if _, err := e.AWS.ECS.PutClusterCapacityProviders(ctx, fix.capacityProviders); err != nil {
			return fmt.Errorf("setting the capacity providers of %s: %w", name, err)
		}
		report.corrected(fmt.Sprintf("capacity providers %v", clusterCapacityProviders))
	}
	report.done()
	return nil
}

// clusterFixes are the calls that bring the cluster back to SPEC row 8, nil where it matches.
type clusterFixes struct {
	insights, serviceConnect *ecs.UpdateClusterInput
	meshTag                  *ecs.TagResourceInput
	capacityProviders        *ecs.PutClusterCapacityProvidersInput
}

// clusterCorrections compares the cluster as ECS describes it with the spec: Container
// Insights on, the Service Connect default namespace (defaults, nil outside Service Connect
// mode), the mesh mode tag, and Fargate and Fargate Spot as its capacity providers (keeping its
// default strategy).
func clusterCorrections(clusterName string, cluster ecstypes.Cluster, defaults *ecstypes.ClusterServiceConnectDefaultsRequest, meshTag ecstypes.Tag) clusterFixes {
	name := aws.String(clusterName)
	var fix clusterFixes
	if !containerInsightsOn(&cluster) {
		fix.insights = &ecs.UpdateClusterInput{Cluster: name, Settings: []ecstypes.ClusterSetting{{Name: ecstypes.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}}}
	}
	if defaults != nil && (cluster.ServiceConnectDefaults == nil || aws.ToString(cluster.ServiceConnectDefaults.Namespace) != aws.ToString(defaults.Namespace)) {
		fix.serviceConnect = &ecs.UpdateClusterInput{Cluster: name, ServiceConnectDefaults: defaults}
	}
	if ecsTagValue(cluster.Tags, TagMesh) != aws.ToString(meshTag.Value) {
		fix.meshTag = &ecs.TagResourceInput{ResourceArn: cluster.ClusterArn, Tags: []ecstypes.Tag{meshTag}}
	}
	if !sameSet(cluster.CapacityProviders, clusterCapacityProviders) {
		fix.capacityProviders = &ecs.PutClusterCapacityProvidersInput{
			Cluster: name, CapacityProviders: clusterCapacityProviders,
			DefaultCapacityProviderStrategy: cluster.DefaultCapacityProviderStrategy,
		}
	}
	return fix
}

// meshTag records the environment's mesh mode on its cluster, where tapctl list reads it.
func (c clusterStep) meshTag() ecstypes.Tag {
	return ecstypes.Tag{Key: aws.String(TagMesh), Value: aws.String(string(c.mesh))}
}

func ecsTagValue(tags []ecstypes.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

func (clusterStep) Down(ctx context.Context, e *Env) error {
	cluster, err := findCluster(ctx, e)
	if err != nil {
		return err
	}
	name := e.Names.Cluster()
	return deleteThenForget(e, keyCluster, cluster != nil, "ECS cluster "+name, name, func() error {
		// Services deleted a moment ago may still drain their tasks.
		busy := []string{"ClusterContainsServicesException", "ClusterContainsTasksException", "UpdateInProgressException"}
		return retryWhileInUse(ctx, "ECS cluster "+name, e.Timeouts.Dependencies, busy, func(ctx context.Context) error {
			_, err := e.AWS.ECS.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(name)})
			return err
		})
	})
}

func (clusterStep) Inspect(ctx context.Context, e *Env) []Status {
	c, err := findCluster(ctx, e)
	return []Status{{Resource: "ECS cluster " + e.Names.Cluster(), StateID: e.StateID(keyCluster),
		AWS: engine.Observe(err, c != nil, func() string {
			return fmt.Sprintf("%s, %d services", aws.ToString(c.Status), c.ActiveServicesCount)
		})}}
}
