package provision

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/state"
)

func TestNeedsNewRevision(t *testing.T) {
	svc := catalog.WithDefaults("payment", 10)
	svc.Environment = map[string]string{"LOG_LEVEL": "info", "A_FLAG": "1"}
	e := testEnv(t, map[string]state.Resource{
		serviceKey("payment", kindExecutionRole): {ID: "payment-execution-role-pr1", ARN: "arn:aws:iam::123456789012:role/exec"},
		serviceKey("payment", kindTaskRole):      {ID: "payment-task-role-pr1", ARN: "arn:aws:iam::123456789012:role/task"},
		keySecret:                                {ID: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db", ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db"},
	})
	want, err := taskDefinitionStep{svc}.desired(e)
	if err != nil {
		t.Fatal(err)
	}
	// registered is the revision as ECS describes it after registering want, with the fields
	// ECS adds and the lists in its own order.
	registered := func() *ecstypes.TaskDefinition {
		c := want.ContainerDefinitions[0]
		c.Environment = append([]ecstypes.KeyValuePair{}, c.Environment...)
		c.Environment[0], c.Environment[len(c.Environment)-1] = c.Environment[len(c.Environment)-1], c.Environment[0]
		c.Secrets = []ecstypes.Secret{c.Secrets[1], c.Secrets[0]}
		c.Cpu = 0
		opts := map[string]string{"mode": "blocking"}
		for k, v := range c.LogConfiguration.Options {
			opts[k] = v
		}
		c.LogConfiguration = &ecstypes.LogConfiguration{LogDriver: c.LogConfiguration.LogDriver, Options: opts}
		return &ecstypes.TaskDefinition{
			TaskDefinitionArn: aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/payment-pr1:4"), Revision: 4,
			Status: ecstypes.TaskDefinitionStatusActive, Cpu: want.Cpu, Memory: want.Memory, NetworkMode: want.NetworkMode,
			RequiresCompatibilities: want.RequiresCompatibilities, ExecutionRoleArn: want.ExecutionRoleArn, TaskRoleArn: want.TaskRoleArn,
			ContainerDefinitions: []ecstypes.ContainerDefinition{c},
		}
	}
	cases := []struct {
		name  string
		drift func(td *ecstypes.TaskDefinition) *ecstypes.TaskDefinition
		want  bool
	}{
		{"no active revision", func(*ecstypes.TaskDefinition) *ecstypes.TaskDefinition { return nil }, true},
		{"the registered revision, as ECS answers it", func(td *ecstypes.TaskDefinition) *ecstypes.TaskDefinition { return td }, false},
		{"another image (a deploy of tapctl's own is kept by image())", func(td *ecstypes.TaskDefinition) *ecstypes.TaskDefinition {
			td.ContainerDefinitions[0].Image = aws.String("nginx:latest")
			return td
		}, true},
		{"more memory", func(td *ecstypes.TaskDefinition) *ecstypes.TaskDefinition { td.Memory = aws.String("4096"); return td }, true},
		{"another task role", func(td *ecstypes.TaskDefinition) *ecstypes.TaskDefinition {
			td.TaskRoleArn = aws.String("arn:aws:iam::123456789012:role/other")
			return td
		}, true},
		{"a variable changed", func(td *ecstypes.TaskDefinition) *ecstypes.TaskDefinition {
			td.ContainerDefinitions[0].Environment = td.ContainerDefinitions[0].Environment[1:]
			return td
		}, true},
		{"a secret points elsewhere", func(td *ecstypes.TaskDefinition) *ecstypes.TaskDefinition {
			td.ContainerDefinitions[0].Secrets[0].ValueFrom = aws.String("arn:aws:ssm:us-east-1:123456789012:parameter/x")
			return td
		}, true},
		{"another log group", func(td *ecstypes.TaskDefinition) *ecstypes.TaskDefinition {
			td.ContainerDefinitions[0].LogConfiguration.Options["awslogs-group"] = "/ecs/other"
			return td
		}, true},
		{"the port lost its name (Service Connect needs it)", func(td *ecstypes.TaskDefinition) *ecstypes.TaskDefinition {
			td.ContainerDefinitions[0].PortMappings = []ecstypes.PortMapping{{ContainerPort: aws.Int32(80), Protocol: ecstypes.TransportProtocolTcp}}
			return td
		}, true},
		{"a second container", func(td *ecstypes.TaskDefinition) *ecstypes.TaskDefinition {
			td.ContainerDefinitions = append(td.ContainerDefinitions, td.ContainerDefinitions[0])
			return td
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := needsNewRevision(c.drift(registered()), want); got != c.want {
				t.Errorf("needsNewRevision = %v, want %v", got, c.want)
			}
		})
	}
}
