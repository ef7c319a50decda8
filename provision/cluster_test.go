package provision

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

func TestClusterCorrections(t *testing.T) {
	const nsARN = "arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-1"
	defaults := &ecstypes.ClusterServiceConnectDefaultsRequest{Namespace: aws.String(nsARN)}
	meshTag := clusterStep{mesh: MeshServiceConnect}.meshTag()
	converged := func() ecstypes.Cluster {
		return ecstypes.Cluster{
			ClusterName: aws.String("microservices-cluster-pr1"), ClusterArn: aws.String("arn:aws:ecs:us-east-1:123456789012:cluster/microservices-cluster-pr1"),
			Settings:               []ecstypes.ClusterSetting{{Name: ecstypes.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}},
			ServiceConnectDefaults: &ecstypes.ClusterServiceConnectDefaults{Namespace: aws.String(nsARN)},
			Tags:                   []ecstypes.Tag{{Key: aws.String("Environment"), Value: aws.String("pr1")}, meshTag},
			CapacityProviders:      []string{"FARGATE_SPOT", "FARGATE"}, // any order
		}
	}
	type want struct{ insights, serviceConnect, tag, capacity bool }
	cases := []struct {
		name     string
		drift    func(c *ecstypes.Cluster)
		defaults *ecstypes.ClusterServiceConnectDefaultsRequest
		want     want
	}{
		{"as the spec wants", func(*ecstypes.Cluster) {}, defaults, want{}},
		{"Container Insights off", func(c *ecstypes.Cluster) { c.Settings[0].Value = aws.String("disabled") }, defaults, want{insights: true}},
		{"Container Insights never set", func(c *ecstypes.Cluster) { c.Settings = nil }, defaults, want{insights: true}},
		{"no Service Connect default", func(c *ecstypes.Cluster) { c.ServiceConnectDefaults = nil }, defaults, want{serviceConnect: true}},
		{"another default namespace", func(c *ecstypes.Cluster) { c.ServiceConnectDefaults.Namespace = aws.String("ns-2") }, defaults, want{serviceConnect: true}},
		{"outside Service Connect mode the defaults are left alone", func(c *ecstypes.Cluster) { c.ServiceConnectDefaults = nil }, nil, want{}},
		{"mesh tag removed by hand", func(c *ecstypes.Cluster) { c.Tags = c.Tags[:1] }, defaults, want{tag: true}},
		{"mesh tag of another mode", func(c *ecstypes.Cluster) { c.Tags[1].Value = aws.String(string(MeshAppMesh)) }, defaults, want{tag: true}},
		{"Fargate Spot removed", func(c *ecstypes.Cluster) { c.CapacityProviders = []string{"FARGATE"} }, defaults, want{capacity: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cluster := converged()
			c.drift(&cluster)
			fix := clusterCorrections("microservices-cluster-pr1", cluster, c.defaults, meshTag)
			got := want{fix.insights != nil, fix.serviceConnect != nil, fix.meshTag != nil, fix.capacityProviders != nil}
			if got != c.want {
				t.Fatalf("corrections = %+v, want %+v", got, c.want)
			}
			if fix.capacityProviders != nil && len(fix.capacityProviders.CapacityProviders) != 2 {
				t.Errorf("capacity providers put = %v, want FARGATE and FARGATE_SPOT", fix.capacityProviders.CapacityProviders)
			}
		})
	}
}
