package scenarios

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// envTags are the tags that make a resource environment env's (SPEC "Ownership").
func envTags(env string) map[string]string {
	return map[string]string{"ManagedBy": "tapctl", "Environment": env}
}

func ec2TagSpec(resource ec2types.ResourceType, tags map[string]string) []ec2types.TagSpecification {
	spec := ec2types.TagSpecification{ResourceType: resource}
	for k, v := range tags {
		spec.Tags = append(spec.Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return []ec2types.TagSpecification{spec}
}

func makeLogGroup(t *testing.T, name string, tags map[string]string) {
	t.Helper()
	ctx, c := context.Background(), clients(t)
	in := &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name)}
	if len(tags) > 0 {
		in.Tags = tags
	}
	_, err := c.Logs.CreateLogGroup(ctx, in)
	must(t, err)
	t.Cleanup(func() {
		c.Logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(name)})
	})
}

// logGroupTags is the group's tags, and false when it is gone.
func logGroupTags(t *testing.T, name string) (map[string]string, bool) {
	t.Helper()
	ctx, c := context.Background(), clients(t)
	out, err := c.Logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	must(t, err)
	for _, g := range out.LogGroups {
		if aws.ToString(g.LogGroupName) == name {
			tags, err := c.Logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: g.LogGroupArn})
			must(t, err)
			return tags.Tags, true
		}
	}
	return nil, false
}

func makeVPC(t *testing.T, cidr string, tags map[string]string) string {
	t.Helper()
	ctx, c := context.Background(), clients(t)
	in := &ec2.CreateVpcInput{CidrBlock: aws.String(cidr)}
	if len(tags) > 0 {
		in.TagSpecifications = ec2TagSpec(ec2types.ResourceTypeVpc, tags)
	}
	out, err := c.EC2.CreateVpc(ctx, in)
	must(t, err)
	id := aws.ToString(out.Vpc.VpcId)
	t.Cleanup(func() { c.EC2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(id)}) })
	return id
}

func makeSecurityGroup(t *testing.T, vpc, name string, tags map[string]string) string {
	t.Helper()
	ctx, c := context.Background(), clients(t)
	out, err := c.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{VpcId: aws.String(vpc), GroupName: aws.String(name),
		Description: aws.String("made by a sweep test"), TagSpecifications: ec2TagSpec(ec2types.ResourceTypeSecurityGroup, tags)})
	must(t, err)
	id := aws.ToString(out.GroupId)
	// Registered before the VPC's cleanup runs (cleanups run last-in first-out).
	t.Cleanup(func() { c.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)}) })
	return id
}

// securityGroupTags is the group's tags, and false when it is gone.
func securityGroupTags(t *testing.T, id string) (map[string]string, bool) {
	t.Helper()
	out, err := clients(t).EC2.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{
		Filters: []ec2types.Filter{{Name: aws.String("group-id"), Values: []string{id}}}})
	must(t, err)
	if len(out.SecurityGroups) == 0 {
		return nil, false
	}
	return ec2Tags(out.SecurityGroups[0].Tags), true
}

// After the platform, down sweeps what else carries the environment's tags: a log group, a
// security group in another VPC and a task definition of another family are deleted (their
// own tags read first); a VPC tagged by hand is not (taking a network apart needs its steps'
// order): down names it by its ARN, exits 1 and keeps the state file. Resources of another
// environment, untagged, or tagged with the environment's name by another tool are never
// touched. Once the VPC is gone, down finishes and forgets the state file.
func TestDownSweepsWhatElseIsTaggedAsTheEnvironments(t *testing.T) {
	env, other, dir := newEnvName(t), newEnvName(t), t.TempDir()
	ctx, c := context.Background(), clients(t)
	tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)

	// Swept: tagged as the environment's, unknown to its steps.
	sweptLogGroup := "/sweep-test/" + env + "/extra"
	makeLogGroup(t, sweptLogGroup, envTags(env))
	spareVPC := makeVPC(t, "10.98.0.0/16", nil)
	sweptGroup := makeSecurityGroup(t, spareVPC, "extra-"+env, envTags(env))
	td, err := c.ECS.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:               aws.String("sweep-test-" + env),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("nginx:1"), Memory: aws.Int32(128)}},
		Tags:                 []ecstypes.Tag{{Key: aws.String("ManagedBy"), Value: aws.String("tapctl")}, {Key: aws.String("Environment"), Value: aws.String(env)}},
	})
	must(t, err)
	sweptTaskDefinition := aws.ToString(td.TaskDefinition.TaskDefinitionArn)
	// Reported: a VPC tagged as the environment's.
	reportedVPC := makeVPC(t, "10.97.0.0/16", envTags(env))
	// Never touched: another environment's, untagged, and another tool's with the environment's name.
	untouched := map[string]map[string]string{
		"/sweep-test/" + env + "/other-env": envTags(other),
		"/sweep-test/" + env + "/untagged":  nil,
		"/sweep-test/" + env + "/terraform": {"ManagedBy": "terraform", "Environment": env},
	}
	for name, tags := range untouched {
		makeLogGroup(t, name, tags)
	}
	otherGroup := makeSecurityGroup(t, spareVPC, "extra-"+other, envTags(other))

	down := tapctl(t, dir, "down", "--yes", "--env", env)
	if down.Code != 1 {
		t.Fatalf("down with a VPC tagged by hand: exit %d, want 1:\n%s", down.Code, down.Stderr)
	}
	vpcARN := "arn:aws:ec2:us-east-1:123456789012:vpc/" + reportedVPC
	var leftLines []string
	for _, l := range strings.Split(down.Stderr, "\n") {
		if strings.HasPrefix(l, "  arn:") {
			leftLines = append(leftLines, l)
		}
	}
	if len(leftLines) != 1 || !strings.HasPrefix(leftLines[0], "  "+vpcARN+": down does not delete a VPC") {
		t.Errorf("down named %q, want one line for %s:\n%s", leftLines, vpcARN, down.Stderr)
	}
	summary := "tapctl: down deleted the platform of " + env + ", but 1 resource tagged Environment=" + env + ", ManagedBy=tapctl is left"
	if !strings.Contains(down.Stderr, summary) || !strings.Contains(down.Stderr, "the state file is kept") {
		t.Errorf("down does not end with %q:\n%s", summary, down.Stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, env+".json")); err != nil {
		t.Errorf("down forgot the state file while a resource of the environment is left: %v", err)
	}

	if _, ok := logGroupTags(t, sweptLogGroup); ok {
		t.Errorf("the sweep left log group %s", sweptLogGroup)
	}
	if _, ok := securityGroupTags(t, sweptGroup); ok {
		t.Errorf("the sweep left security group %s", sweptGroup)
	}
	d, err := c.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(sweptTaskDefinition)})
	must(t, err)
	if d.TaskDefinition.Status != ecstypes.TaskDefinitionStatusInactive {
		t.Errorf("the sweep left task definition %s %s", sweptTaskDefinition, d.TaskDefinition.Status)
	}
	for _, want := range []string{"deleted log group " + sweptLogGroup + ", found by its tags", "deleted security group " + sweptGroup, "deleted task definition "} {
		if !strings.Contains(down.Stderr, want) {
			t.Errorf("down's log does not say %q:\n%s", want, down.Stderr)
		}
	}
	assertSweepLeftAlone(t, untouched, otherGroup, other)
	if vpcs, err := c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{reportedVPC}}); err != nil || len(vpcs.Vpcs) != 1 {
		t.Errorf("the reported VPC is gone: %v", err)
	}

	// Once the VPC is deleted by hand, down has nothing left to name and forgets the state file.
	_, err = c.EC2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(reportedVPC)})
	must(t, err)
	tapctl(t, dir, "down", "--yes", "--env", env).mustSucceed(t)
	if _, err := os.Stat(filepath.Join(dir, env+".json")); !os.IsNotExist(err) {
		t.Errorf("the state file remains after a down that left nothing: %v", err)
	}
	if left := leftovers(t, env); len(left) != 0 {
		t.Errorf("down left %v", left)
	}
	assertSweepLeftAlone(t, untouched, otherGroup, other)
}

// assertSweepLeftAlone: the log groups are there with the tags they were made with, and so is
// the other environment's security group.
func assertSweepLeftAlone(t *testing.T, logGroups map[string]map[string]string, otherGroup, other string) {
	t.Helper()
	for name, want := range logGroups {
		got, ok := logGroupTags(t, name)
		if !ok {
			t.Errorf("the sweep deleted log group %s (tags %v)", name, want)
		} else if len(got)+len(want) > 0 && !sameMap(got, want) {
			t.Errorf("log group %s has tags %v, want %v", name, got, want)
		}
	}
	if got, ok := securityGroupTags(t, otherGroup); !ok || !sameMap(got, envTags(other)) {
		t.Errorf("environment %s's security group %s: present %v, tags %v", other, otherGroup, ok, got)
	}
}
