package scenarios

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"
	sdtypes "github.com/aws/aws-sdk-go-v2/service/servicediscovery/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/naming"
)

// assertInventory is the whole environment as AWS holds it: SPEC rows 1-23 with their settings
// (assertNetwork, assertPlatform), exactly one of everything — counted where AWS would let a
// second copy exist beside the first — and every service reachable from the load balancer
// (assertReachable).
func assertInventory(t *testing.T, dir, env string) {
	t.Helper()
	net := assertNetwork(t, env)
	assertPlatform(t, dir, env)
	assertOneOfEach(t, env, aws.ToString(net.VPCs[0].VpcId))
	assertReachable(t, env, catalog.Default())
}

// assertOneOfEach counts what can be duplicated without a name clash: resources inside the VPC
// (tagged or not, apart from the default security group and main route table AWS makes), ECS
// services and active task definition revisions, target groups, listener rules, scaling targets
// and policies, and the Cloud Map namespace.
func assertOneOfEach(t *testing.T, env, vpcID string) {
	t.Helper()
	ctx, c, n := context.Background(), clients(t), naming.Names{Env: env}
	services := catalog.Default()
	count := func(what string, got, want int) {
		t.Helper()
		if got != want {
			t.Errorf("%d %s, want %d", got, what, want)
		}
	}
	inVPC := []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpcID}}}
	subnets, err := c.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: inVPC})
	must(t, err)
	count("subnets in the VPC", len(subnets.Subnets), 6)
	tables, err := c.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: inVPC})
	must(t, err)
	count("route tables in the VPC (with the main one)", len(tables.RouteTables), 5)
	endpoints, err := c.EC2.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{Filters: inVPC})
	must(t, err)
	liveEndpoints := 0
	for _, ep := range endpoints.VpcEndpoints {
		if !strings.EqualFold(string(ep.State), "deleted") {
			liveEndpoints++
		}
	}
	count("VPC endpoints in the VPC (S3 and DynamoDB)", liveEndpoints, 2)
	groups, err := c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: inVPC})
	must(t, err)
	count("security groups in the VPC (with the default one)", len(groups.SecurityGroups), 3)
	igws, err := c.EC2.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{{Name: aws.String("attachment.vpc-id"), Values: []string{vpcID}}}})
	must(t, err)
	count("internet gateways attached to the VPC", len(igws.InternetGateways), 1)
	nats, err := c.EC2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{Filter: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpcID}}}})
	must(t, err)
	liveNATs := 0
	for _, nat := range nats.NatGateways {
		if aws.ToString(nat.VpcId) == vpcID && nat.State != ec2types.NatGatewayStateDeleted && nat.State != ec2types.NatGatewayStateDeleting {
			liveNATs++
		}
	}
	count("NAT gateways in the VPC", liveNATs, 1)

	namespaces, err := c.ServiceDisc.ListNamespaces(ctx, &sd.ListNamespacesInput{})
	must(t, err)
	named := 0
	for _, ns := range namespaces.Namespaces {
		if aws.ToString(ns.Name) == n.Namespace() {
			named++
		}
	}
	count("Cloud Map namespaces named "+n.Namespace(), named, 1)
	count("Cloud Map services in the namespace", cloudMapServices(t, n.Namespace()), len(services))
	count("live KMS keys of the environment", liveKeys(t, env), 1)

	ecsServices, err := c.ECS.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String(n.Cluster())})
	must(t, err)
	count("ECS services in the cluster", len(ecsServices.ServiceArns), len(services))

	lbs, err := c.ELB.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{n.ALB()}})
	must(t, err)
	count("load balancers named "+n.ALB(), len(lbs.LoadBalancers), 1)
	if len(lbs.LoadBalancers) == 1 {
		listeners, err := c.ELB.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lbs.LoadBalancers[0].LoadBalancerArn})
		must(t, err)
		if len(listeners.Listeners) == 1 {
			rules, err := c.ELB.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: listeners.Listeners[0].ListenerArn})
			must(t, err)
			count("listener rules (with the default one)", len(rules.Rules), len(services)+1)
		}
	}

	for _, svc := range services {
		s := svc.Name
		tds, err := c.ECS.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(n.TaskFamily(s)), Status: ecstypes.TaskDefinitionStatusActive})
		must(t, err)
		active := 0
		for _, arn := range tds.TaskDefinitionArns {
			if strings.Contains(arn, "/"+n.TaskFamily(s)+":") {
				active++
			}
		}
		count("active task definition revisions of "+n.TaskFamily(s), active, 1)
		for _, tg := range []string{n.TargetGroup(s), n.AltTargetGroup(s)} {
			out, err := c.ELB.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{tg}})
			must(t, err)
			count("target groups named "+tg, len(out.TargetGroups), 1)
		}
		resource := "service/" + n.Cluster() + "/" + n.Service(s)
		targets, err := c.AutoScaling.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceIds: []string{resource}})
		must(t, err)
		count("scalable targets of "+s, len(targets.ScalableTargets), 1)
		policies, err := c.AutoScaling.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String(resource)})
		must(t, err)
		count("scaling policies of "+s, len(policies.ScalingPolicies), 1)
	}
}

// liveKeys counts the environment's KMS keys not pending deletion (a retried CreateKey would
// leave a second one).
func liveKeys(t *testing.T, env string) int {
	t.Helper()
	ctx, c := context.Background(), clients(t)
	keys, err := c.KMS.ListKeys(ctx, &kms.ListKeysInput{})
	must(t, err)
	live := 0
	for _, k := range keys.Keys {
		d, err := c.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})
		must(t, err)
		// tapctl's key description names its environment.
		if !strings.HasSuffix(aws.ToString(d.KeyMetadata.Description), " "+env) || d.KeyMetadata.KeyState == kmstypes.KeyStatePendingDeletion {
			continue
		}
		tags, err := c.KMS.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: k.KeyId})
		must(t, err)
		for _, tag := range tags.Tags {
			if aws.ToString(tag.TagKey) == "Environment" && aws.ToString(tag.TagValue) == env {
				live++
			}
		}
	}
	return live
}

// cloudMapServices counts the services in the namespace of that name (when there is exactly one).
func cloudMapServices(t *testing.T, namespace string) int {
	t.Helper()
	ctx, c := context.Background(), clients(t)
	nss, err := c.ServiceDisc.ListNamespaces(ctx, &sd.ListNamespacesInput{})
	must(t, err)
	var ids []string
	for _, ns := range nss.Namespaces {
		if aws.ToString(ns.Name) == namespace {
			ids = append(ids, aws.ToString(ns.Id))
		}
	}
	if len(ids) != 1 {
		return 0
	}
	svcs, err := c.ServiceDisc.ListServices(ctx, &sd.ListServicesInput{Filters: []sdtypes.ServiceFilter{{Name: sdtypes.ServiceFilterNameNamespaceId, Values: ids}}})
	must(t, err)
	in := 0
	for _, s := range svcs.Services { // moto ignores the filter: check each service's namespace
		got, err := c.ServiceDisc.GetService(ctx, &sd.GetServiceInput{Id: s.Id})
		if cloud.IsNotFound(err) {
			continue // another test's environment, deleted meanwhile
		}
		must(t, err)
		if aws.ToString(got.Service.NamespaceId) == ids[0] {
			in++
		}
	}
	return in
}
