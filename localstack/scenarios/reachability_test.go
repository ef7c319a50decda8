package scenarios

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/naming"
)

// assertReachable checks what the emulator never evaluates (it runs no traffic through security
// groups), from what AWS holds: for every service, the load balancer's security groups may
// reach the service's task security groups on each target group's port, which is the
// container's port, and each target group checks health on that port and the catalog's path.
func assertReachable(t *testing.T, env string, services []catalog.Service) {
	t.Helper()
	ctx, c, n := context.Background(), clients(t), naming.Names{Env: env}
	lbs, err := c.ELB.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{n.ALB()}})
	must(t, err)
	if len(lbs.LoadBalancers) != 1 {
		t.Fatalf("reachability: want 1 load balancer named %s, got %d", n.ALB(), len(lbs.LoadBalancers))
	}
	albGroups := lbs.LoadBalancers[0].SecurityGroups
	for _, svc := range services {
		out, err := c.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(n.Cluster()), Services: []string{n.Service(svc.Name)}})
		must(t, err)
		if len(out.Services) != 1 || aws.ToString(out.Services[0].Status) != "ACTIVE" {
			t.Errorf("reachability: service %s has no active ECS service %s", svc.Name, n.Service(svc.Name))
			continue
		}
		assertServiceReachable(t, svc, out.Services[0], albGroups)
	}
}

// assertServiceReachable checks one ECS service's load balancer attachments against its task
// definition, its target groups and its tasks' security groups.
func assertServiceReachable(t *testing.T, svc catalog.Service, ecsSvc ecstypes.Service, albGroups []string) {
	t.Helper()
	ctx, c := context.Background(), clients(t)
	taskGroups := taskSecurityGroups(t, svc.Name, ecsSvc)
	td, err := c.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: ecsSvc.TaskDefinition})
	must(t, err)
	if len(ecsSvc.LoadBalancers) == 0 {
		t.Errorf("reachability: service %s is attached to no target group", svc.Name)
	}
	for _, lb := range ecsSvc.LoadBalancers {
		port := aws.ToInt32(lb.ContainerPort)
		if port != svc.Port {
			t.Errorf("reachability: service %s sends load balancer traffic to container port %d, its catalog port is %d", svc.Name, port, svc.Port)
		}
		if !containerListensOn(td.TaskDefinition, aws.ToString(lb.ContainerName), port) {
			t.Errorf("reachability: service %s: container %s of %s maps no tcp port %d", svc.Name, aws.ToString(lb.ContainerName), aws.ToString(ecsSvc.TaskDefinition), port)
		}
		groups := []string{aws.ToString(lb.TargetGroupArn)}
		if lb.AdvancedConfiguration != nil && lb.AdvancedConfiguration.AlternateTargetGroupArn != nil {
			groups = append(groups, aws.ToString(lb.AdvancedConfiguration.AlternateTargetGroupArn))
		}
		for _, arn := range groups {
			tgs, err := c.ELB.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{arn}})
			must(t, err)
			for _, tg := range tgs.TargetGroups {
				assertTargetGroupMatches(t, svc, tg, port)
				if tgPort := aws.ToInt32(tg.Port); !admits(taskGroups, albGroups, tgPort) {
					t.Errorf("reachability: service %s: no ingress rule of its task security groups %v admits the load balancer's groups %v on tcp %d (target group %s)",
						svc.Name, groupIDs(taskGroups), albGroups, tgPort, aws.ToString(tg.TargetGroupName))
				}
			}
		}
	}
}

// taskSecurityGroups reads the security groups the service's tasks run in.
func taskSecurityGroups(t *testing.T, svc string, ecsSvc ecstypes.Service) []ec2types.SecurityGroup {
	t.Helper()
	nc := ecsSvc.NetworkConfiguration
	if nc == nil || nc.AwsvpcConfiguration == nil || len(nc.AwsvpcConfiguration.SecurityGroups) == 0 {
		t.Errorf("reachability: service %s names no security group for its tasks", svc)
		return nil
	}
	out, err := clients(t).EC2.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{GroupIds: nc.AwsvpcConfiguration.SecurityGroups})
	must(t, err)
	return out.SecurityGroups
}

// assertTargetGroupMatches checks that the target group sends traffic and health checks where the
// container listens, and checks the catalog's health path.
func assertTargetGroupMatches(t *testing.T, svc catalog.Service, tg elbtypes.TargetGroup, containerPort int32) {
	t.Helper()
	name := aws.ToString(tg.TargetGroupName)
	if got := aws.ToInt32(tg.Port); got != containerPort {
		t.Errorf("reachability: service %s: target group %s is on port %d, the container on %d", svc.Name, name, got, containerPort)
	}
	if hp := aws.ToString(tg.HealthCheckPort); hp != "traffic-port" && hp != strconv.Itoa(int(containerPort)) {
		t.Errorf("reachability: service %s: target group %s checks health on port %s, the container listens on %d", svc.Name, name, hp, containerPort)
	}
	if got := aws.ToString(tg.HealthCheckPath); got != svc.HealthPath {
		t.Errorf("reachability: service %s: target group %s checks health on path %q, the catalog's healthCheckPath is %q", svc.Name, name, got, svc.HealthPath)
	}
}

// containerListensOn reports whether the named container of the task definition maps the tcp port.
func containerListensOn(td *ecstypes.TaskDefinition, container string, port int32) bool {
	for _, cd := range td.ContainerDefinitions {
		if aws.ToString(cd.Name) != container {
			continue
		}
		for _, pm := range cd.PortMappings {
			if aws.ToInt32(pm.ContainerPort) == port && (pm.Protocol == "" || pm.Protocol == ecstypes.TransportProtocolTcp) {
				return true
			}
		}
	}
	return false
}

// admits reports whether some ingress rule of the groups lets any of the peer groups in on the
// tcp port.
func admits(groups []ec2types.SecurityGroup, peers []string, port int32) bool {
	for _, g := range groups {
		for _, p := range g.IpPermissions {
			if !coversTCPPort(p, port) {
				continue
			}
			for _, pair := range p.UserIdGroupPairs {
				if slices.Contains(peers, aws.ToString(pair.GroupId)) {
					return true
				}
			}
		}
	}
	return false
}

// coversTCPPort reports whether a permission covers tcp traffic to the port ("-1" is all
// traffic; 6 is tcp's protocol number).
func coversTCPPort(p ec2types.IpPermission, port int32) bool {
	switch aws.ToString(p.IpProtocol) {
	case "-1":
		return true
	case "tcp", "6":
		return aws.ToInt32(p.FromPort) <= port && port <= aws.ToInt32(p.ToPort)
	}
	return false
}

func groupIDs(groups []ec2types.SecurityGroup) []string {
	ids := make([]string, len(groups))
	for i, g := range groups {
		ids[i] = aws.ToString(g.GroupId)
	}
	return ids
}

// The task security group follows the catalog: a service on port 8080 gets its own rule from
// the load balancer, reachability holds for every service, and taking the service out of the
// catalog revokes the rule (plan shows it first).
func TestTaskSecurityGroupFollowsTheCatalogsPorts(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	api := catalog.WithDefaults("api", 13)
	api.Port = 8080
	withAPI := append(catalog.Default(), api)
	tapctl(t, dir, "up", "--env", env, "--no-wait", "--config", writeCatalog(t, t.TempDir(), api)).mustSucceed(t)

	albSG, taskSG := stateResource(t, dir, env, "alb-security-group").ID, stateResource(t, dir, env, "task-security-group").ID
	want := []string{"egress -1 0.0.0.0/0", "ingress -1 " + taskSG, "ingress tcp 80 " + albSG, "ingress tcp 8080 " + albSG}
	if got := taskGroupRules(t, taskSG); !slices.Equal(got, want) {
		t.Errorf("task security group with a service on 8080:\n got  %v\n want %v", got, want)
	}
	assertSecurityGroupRules(t, dir, env, withAPI)
	assertReachable(t, env, withAPI)

	config := writeCatalog(t, t.TempDir())
	r, p := plan(t, dir, env, "--config", config)
	var changes []string
	for _, ch := range p.Changes {
		changes = append(changes, strings.TrimSpace(ch.Action+" "+ch.Step+" "+ch.Operation))
	}
	if want := "update task-security-group EC2.RevokeSecurityGroupIngress"; r.Code != 2 || !slices.Contains(changes, want) {
		t.Errorf("plan without api exited %d, changes %v: want %q among them", r.Code, changes, want)
	}

	tapctl(t, dir, "up", "--env", env, "--no-wait", "--config", config).mustSucceed(t)
	want = []string{"egress -1 0.0.0.0/0", "ingress -1 " + taskSG, "ingress tcp 80 " + albSG}
	if got := taskGroupRules(t, taskSG); !slices.Equal(got, want) {
		t.Errorf("task security group after api left the catalog:\n got  %v\n want %v", got, want)
	}
	assertReachable(t, env, catalog.Default())
}

// taskGroupRules reads the group's rules back from AWS, sorted ("ingress tcp 80 sg-…").
func taskGroupRules(t *testing.T, id string) []string {
	t.Helper()
	out, err := clients(t).EC2.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	must(t, err)
	if len(out.SecurityGroups) != 1 {
		t.Fatalf("found %d security groups with ID %s", len(out.SecurityGroups), id)
	}
	return sgRules(out.SecurityGroups[0])
}
