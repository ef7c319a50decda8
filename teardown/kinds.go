package teardown

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/appmesh"
	meshtypes "github.com/aws/aws-sdk-go-v2/service/appmesh/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/provision"
)

// kind is what the sweep knows of one kind of resource.
type kind struct {
	what string // for the run's log and summary: "log group"
	// look reads the resource by its ARN from its own service: nil when AWS no longer has it or
	// when it is on its way out by design.
	look func(ctx context.Context, e *provision.Env, r resource) (*found, error)
}

// found is a resource that is still there.
type found struct {
	name string // how the log and summary name it: its name, else its ID
	// tags are read from the resource itself, to prove it the environment's before remove.
	tags map[string]string
	// remove deletes it; nil when the sweep only reports it (hold says why).
	remove func(context.Context) error
	hold   string
}

// The kinds the sweep deletes hold nothing else and serve no traffic: one call removes each, and
// nothing of another environment can depend on it. The others are only reported: taking them
// apart needs an order and waits that only the platform's steps know, and those steps found
// these not to be theirs (another name, a second copy, tags added by hand).
var kinds = map[string]kind{
	// Deleted.
	"ecs:task-definition":                     {"task definition", lookTaskDefinition},
	"application-autoscaling:scalable-target": {"scalable target", lookScalableTarget},
	"cloudwatch:alarm":                        {"alarm", lookAlarm},
	"logs:log-group":                          {"log group", lookLogGroup},
	"secretsmanager:secret":                   {"secret", lookSecret},
	"ecr:repository":                          {"ECR repository", lookRepository},
	"elasticloadbalancing:targetgroup":        {"target group", lookTargetGroup},
	"kms:key":                                 {"KMS key", lookKey},
	"ec2:security-group":                      {"security group", lookSecurityGroup},
	"ec2:elastic-ip":                          {"Elastic IP", lookElasticIP},
	// Reported.
	"ec2:natgateway":                     {"NAT gateway", lookNATGateway},
	"ec2:vpc-endpoint":                   {"VPC endpoint", lookVPCEndpoint},
	"elasticloadbalancing:loadbalancer":  {"load balancer", lookLoadBalancer},
	"elasticloadbalancing:listener":      {"listener", lookListener},
	"elasticloadbalancing:listener-rule": {"listener rule", lookListenerRule},
	"ecs:cluster":                        {"ECS cluster", lookCluster},
	"ecs:service":                        {"ECS service", lookECSService},
	"servicediscovery:namespace":         {"Cloud Map namespace", lookNamespace},
	"servicediscovery:service":           {"Cloud Map service", lookDiscoveryService},
	"appmesh:mesh":                       {"App Mesh resource", lookMesh},
}

// networkKinds are the EC2 kinds of the environment's network that the sweep reports; any
// other EC2 kind is reported as one tapctl does not make. Both are looked up with DescribeTags.
var networkKinds = map[string]string{
	"ec2:vpc": "VPC", "ec2:subnet": "subnet", "ec2:route-table": "route table", "ec2:internet-gateway": "internet gateway",
}

// kindOf is the sweep's knowledge of a kind; known is false for kinds tapctl does not know.
func kindOf(name string) (k kind, known bool) {
	if k, ok := kinds[name]; ok {
		return k, true
	}
	if what, ok := networkKinds[name]; ok {
		return kind{what, lookEC2(reportedBecause(what, "tapctl takes a network apart only in its steps' order"))}, true
	}
	if strings.HasPrefix(name, "ec2:") {
		return kind{name, lookEC2("tapctl does not know this kind of resource, so down does not delete it")}, true
	}
	return kind{}, false
}

// deleteOrder: dependants first (a scalable target before nothing, a target group before the
// security groups its load balancer used), then everything reported, by ARN.
var deleteOrder = []string{
	"ecs:task-definition", "application-autoscaling:scalable-target", "cloudwatch:alarm", "logs:log-group",
	"secretsmanager:secret", "ecr:repository", "elasticloadbalancing:targetgroup", "kms:key",
	"ec2:security-group", "ec2:elastic-ip",
}

func deleteRank(kind string) int {
	for i, k := range deleteOrder {
		if k == kind {
			return i
		}
	}
	return len(deleteOrder)
}

// reportedBecause is why the sweep leaves a kind to a person.
func reportedBecause(what, because string) string {
	return "down does not delete a " + what + " its steps did not find as the environment's: " + because
}

// gone is a look's answer for a resource AWS no longer has.
func gone(err error) (*found, error) {
	if cloud.IsNotFound(err) {
		return nil, nil
	}
	return nil, err
}

func lookTaskDefinition(ctx context.Context, e *provision.Env, r resource) (*found, error) {
	c := e.AWS
	out, err := c.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(r.ARN), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
	if cloud.HasCode(err, "ClientException") {
		return nil, nil // ECS's answer for a revision it does not have
	}
	if err != nil {
		return gone(fmt.Errorf("describing task definition %s: %w", r.ID, err))
	}
	// Deregistered revisions stay INACTIVE for good: they outlive down by design.
	if out.TaskDefinition == nil || out.TaskDefinition.Status != ecstypes.TaskDefinitionStatusActive {
		return nil, nil
	}
	return &found{name: r.ID, tags: provision.TagMap(out.Tags, func(t ecstypes.Tag) (*string, *string) { return t.Key, t.Value }),
		remove: func(ctx context.Context) error {
			if _, err := c.ECS.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(r.ARN)}); err != nil {
				return fmt.Errorf("deregistering task definition %s: %w", r.ID, err)
			}
			return nil
		}}, nil
}

// lookScalableTarget finds the target among the ECS ones (the only namespace tapctl scales); a
// target of another namespace is reported.
func lookScalableTarget(ctx context.Context, e *provision.Env, r resource) (*found, error) {
	c := e.AWS
	var target *aastypes.ScalableTarget
	pages := aas.NewDescribeScalableTargetsPaginator(c.AutoScaling, &aas.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs})
	for pages.HasMorePages() && target == nil {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describing the ECS scalable targets: %w", err)
		}
		for i := range page.ScalableTargets {
			if aws.ToString(page.ScalableTargets[i].ScalableTargetARN) == r.ARN {
				target = &page.ScalableTargets[i]
			}
		}
	}
	if target == nil {
		return &found{name: r.ID, hold: "it is not one of the ECS scalable targets, the only ones tapctl makes, so down does not delete it"}, nil
	}
	name := aws.ToString(target.ResourceId)
	tags, err := c.AutoScaling.ListTagsForResource(ctx, &aas.ListTagsForResourceInput{ResourceARN: aws.String(r.ARN)})
	if err != nil {
		return gone(fmt.Errorf("reading the tags of scalable target %s: %w", name, err))
	}
	return &found{name: name, tags: tags.Tags, remove: func(ctx context.Context) error {
		_, err := c.AutoScaling.DeregisterScalableTarget(ctx, &aas.DeregisterScalableTargetInput{
			ServiceNamespace: target.ServiceNamespace, ResourceId: target.ResourceId, ScalableDimension: target.ScalableDimension})
		if err != nil {
			return fmt.Errorf("deregistering scalable target %s: %w", name, err)
		}
		return nil
	}}, nil
}

func lookAlarm(ctx context.Context, e *provision.Env, r resource) (*found, error) {
	c := e.AWS
	out, err := c.CloudWatch.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{r.ID},
		AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}})
	if err != nil {
		return nil, fmt.Errorf("describing alarm %s: %w", r.ID, err)
	}
	if len(out.MetricAlarms)+len(out.CompositeAlarms) == 0 {
		return nil, nil
	}
	tags, err := c.CloudWatch.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: aws.String(r.ARN)})
	if err != nil {
		return gone(fmt.Errorf("reading the tags of alarm %s: %w", r.ID, err))
	}
	return &found{name: r.ID, tags: provision.TagMap(tags.Tags, func(t cwtypes.Tag) (*string, *string) { return t.Key, t.Value }),
		remove: func(ctx context.Context) error {
			if _, err := c.CloudWatch.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{r.ID}}); err != nil {
				return fmt.Errorf("deleting alarm %s: %w", r.ID, err)
			}
			return nil
		}}, nil
}

func lookLogGroup(ctx context.Context, e *provision.Env, r resource) (*found, error) {
	c := e.AWS
	name := strings.TrimSuffix(r.ID, ":*") // the tagging API writes both forms
	// Listed by name, the group itself comes first among those its name prefixes.
	out, err := c.Logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	if err != nil {
		return gone(fmt.Errorf("describing log group %s: %w", name, err))
	}
	var arn string
	for _, g := range out.LogGroups {
		if aws.ToString(g.LogGroupName) == name {
			arn = aws.ToString(g.LogGroupArn)
		}
	}
	if arn == "" {
		return nil, nil
	}
	tags, err := c.Logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return gone(fmt.Errorf("reading the tags of log group %s: %w", name, err))
	}
	return &found{name: name, tags: tags.Tags, remove: func(ctx context.Context) error {
		if _, err := c.Logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(name)}); err != nil {
			return fmt.Errorf("deleting log group %s: %w", name, err)
		}
		return nil
	}}, nil
}

func lookSecret(ctx context.Context, e *provision.Env, r resource) (*found, error) {
	c := e.AWS
	out, err := c.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(r.ARN)})
	if err != nil {
		return gone(fmt.Errorf("describing secret %s: %w", r.ID, err))
	}
	if out.DeletedDate != nil {
		return nil, nil // scheduled for deletion: on its way out
	}
	name := aws.ToString(out.Name)
	return &found{name: name, tags: provision.TagMap(out.Tags, func(t smtypes.Tag) (*string, *string) { return t.Key, t.Value }),
		remove: func(ctx context.Context) error {
			// As the platform's own secret: no recovery window, nothing of the environment lives on.
			_, err := c.Secrets.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(r.ARN), ForceDeleteWithoutRecovery: aws.Bool(true)})
			if err != nil {
				return fmt.Errorf("deleting secret %s: %w", name, err)
			}
			return nil
		}}, nil
}

func lookRepository(ctx context.Context, e *provision.Env, r resource) (*found, error) {
	c := e.AWS
	if _, err := c.ECR.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{r.ID}}); err != nil {
		return gone(fmt.Errorf("describing ECR repository %s: %w", r.ID, err))
	}
	tags, err := c.ECR.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: aws.String(r.ARN)})
	if err != nil {
		return gone(fmt.Errorf("reading the tags of ECR repository %s: %w", r.ID, err))
	}
	return &found{name: r.ID, tags: provision.TagMap(tags.Tags, func(t ecrtypes.Tag) (*string, *string) { return t.Key, t.Value }),
		remove: func(ctx context.Context) error {
			// With its images, as the platform's own repositories.
			if _, err := c.ECR.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String(r.ID), Force: true}); err != nil {
				return fmt.Errorf("deleting ECR repository %s: %w", r.ID, err)
			}
			return nil
		}}, nil
}

// elbTags reads one Elastic Load Balancing resource's tags.
func elbTags(ctx context.Context, c *cloud.Clients, what string, arn string) (map[string]string, error) {
	out, err := c.ELB.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{arn}})
	if err != nil {
		return nil, fmt.Errorf("reading the tags of %s %s: %w", what, arn, err)
	}
	for _, d := range out.TagDescriptions {
		if aws.ToString(d.ResourceArn) == arn {
			return provision.TagMap(d.Tags, func(t elbtypes.Tag) (*string, *string) { return t.Key, t.Value }), nil
		}
	}
	return map[string]string{}, nil
}

func lookTargetGroup(ctx context.Context, e *provision.Env, r resource) (*found, error) {
	c := e.AWS
	out, err := c.ELB.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{TargetGroupArns: []string{r.ARN}})
	if err != nil {
		return gone(fmt.Errorf("describing target group %s: %w", r.ID, err))
	}
	if len(out.TargetGroups) == 0 {
		return nil, nil
	}
	name := aws.ToString(out.TargetGroups[0].TargetGroupName)
	tags, err := elbTags(ctx, c, "target group", r.ARN)
	if err != nil {
		return gone(err)
	}
	return &found{name: name, tags: tags, remove: func(ctx context.Context) error {
		// A group still used by a listener rule is refused (ResourceInUse) and reported.
		if _, err := c.ELB.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(r.ARN)}); err != nil {
			return fmt.Errorf("deleting target group %s: %w", name, err)
		}
		return nil
	}}, nil
}

func lookKey(ctx context.Context, e *provision.Env, r resource) (*found, error) {
	c := e.AWS
	out, err := c.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(r.ARN)})
	if err != nil {
		return gone(fmt.Errorf("describing KMS key %s: %w", r.ID, err))
	}
	switch out.KeyMetadata.KeyState {
	case kmstypes.KeyStatePendingDeletion, kmstypes.KeyStatePendingReplicaDeletion:
		return nil, nil // AWS's shortest way out: 7 days
	}
	tags, err := c.KMS.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: aws.String(r.ID)})
	if err != nil {
		return gone(fmt.Errorf("reading the tags of KMS key %s: %w", r.ID, err))
	}
	return &found{name: r.ID + " (deletion in 7 days)", tags: provision.TagMap(tags.Tags, func(t kmstypes.Tag) (*string, *string) { return t.TagKey, t.TagValue }),
		remove: func(ctx context.Context) error {
			// A key can only be scheduled for deletion; 7 days is the shortest window.
			_, err := c.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(r.ID), PendingWindowInDays: aws.Int32(7)})
			if err != nil {
				return fmt.Errorf("scheduling deletion of KMS key %s: %w", r.ID, err)
			}
			return nil
		}}, nil
}

func ec2TagMap(tags []ec2types.Tag) map[string]string {
	return provision.TagMap(tags, func(t ec2types.Tag) (*string, *string) { return t.Key, t.Value })
}

func lookSecurityGroup(ctx context.Context, e *provision.Env, r resource) (*found, error) {
	c := e.AWS
	out, err := c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{r.ID}})
	if err != nil {
		return gone(fmt.Errorf("describing security group %s: %w", r.ID, err))
	}
	if len(out.SecurityGroups) == 0 {
		return nil, nil
	}
	g := out.SecurityGroups[0]
	if aws.ToString(g.GroupName) == "default" {
		return &found{name: r.ID, hold: "it is a VPC's default security group, which goes only with its VPC"}, nil
	}
	return &found{name: r.ID + " (" + aws.ToString(g.GroupName) + ")", tags: ec2TagMap(g.Tags), remove: func(ctx context.Context) error {
		// Network interfaces of deleted owners linger for minutes: retried as the platform's own groups are.
		return cloud.Retry(ctx, "deleting security group "+r.ID, e.Timeouts.Dependencies, cloud.RetryOn(cloud.DependencyCodes...), func(ctx context.Context) error {
			_, err := c.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(r.ID)})
			return err
		})
	}}, nil
}

func lookElasticIP(ctx context.Context, e *provision.Env, r resource) (*found, error) {
	c := e.AWS
	out, err := c.EC2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: []string{r.ID}})
	if err != nil {
		return gone(fmt.Errorf("describing Elastic IP %s: %w", r.ID, err))
	}
	if len(out.Addresses) == 0 {
		return nil, nil
	}
	a := out.Addresses[0]
	name := r.ID + " (" + aws.ToString(a.PublicIp) + ")"
	if a.AssociationId != nil {
		return &found{name: name, hold: "it is associated (" + aws.ToString(a.AssociationId) + "); down releases only a free address"}, nil
	}
	return &found{name: name, tags: ec2TagMap(a.Tags), remove: func(ctx context.Context) error {
		if _, err := c.EC2.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: aws.String(r.ID)}); err != nil {
			return fmt.Errorf("releasing Elastic IP %s: %w", r.ID, err)
		}
		return nil
	}}, nil
}

func lookNATGateway(ctx context.Context, e *provision.Env, r resource) (*found, error) {
	c := e.AWS
	out, err := c.EC2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{r.ID}})
	if err != nil {
		return gone(fmt.Errorf("describing NAT gateway %s: %w", r.ID, err))
	}
	for _, n := range out.NatGateways {
		if aws.ToString(n.NatGatewayId) != r.ID {
			continue // some implementations ignore the IDs asked for
		}
		switch n.State {
		case ec2types.NatGatewayStateDeleted, ec2types.NatGatewayStateDeleting:
			return nil, nil // a deleted gateway stays visible, tagged, for about an hour
		}
		return &found{name: r.ID, hold: reportedBecause("NAT gateway", "its address is released only after it is deleted, in the network's order")}, nil
	}
	return nil, nil
}

func lookVPCEndpoint(ctx context.Context, e *provision.Env, r resource) (*found, error) {
	out, err := e.AWS.EC2.DescribeVpcEndpoints(ctx, &ec2.DescribeVpcEndpointsInput{VpcEndpointIds: []string{r.ID}})
	if err != nil {
		return gone(fmt.Errorf("describing VPC endpoint %s: %w", r.ID, err))
	}
	for _, v := range out.VpcEndpoints {
		if aws.ToString(v.VpcEndpointId) != r.ID {
			continue
		}
		if strings.EqualFold(string(v.State), "deleted") || strings.EqualFold(string(v.State), "deleting") {
			return nil, nil // a deleted endpoint stays listed for a while
		}
		return &found{name: r.ID, hold: reportedBecause("VPC endpoint", "its network interfaces hold the subnets and the security group, which go in the network's order")}, nil
	}
	return nil, nil
}

// lookEC2 finds any EC2 resource by its tags: a resource AWS no longer has has none.
func lookEC2(hold string) func(ctx context.Context, e *provision.Env, r resource) (*found, error) {
	return func(ctx context.Context, e *provision.Env, r resource) (*found, error) {
		out, err := e.AWS.EC2.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{{Name: aws.String("resource-id"), Values: []string{r.ID}}}})
		if err != nil {
			return gone(fmt.Errorf("reading the tags of %s: %w", r.ID, err))
		}
		for _, t := range out.Tags {
			if aws.ToString(t.ResourceId) == r.ID {
				return &found{name: r.ID, hold: hold}, nil
			}
		}
		return nil, nil
	}
}

func lookLoadBalancer(ctx context.Context, e *provision.Env, r resource) (*found, error) {
	c := e.AWS
	out, err := c.ELB.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{r.ARN}})
	if err != nil {
		return gone(fmt.Errorf("describing load balancer %s: %w", r.ID, err))
	}
	if len(out.LoadBalancers) == 0 {
		return nil, nil
	}
	return &found{name: aws.ToString(out.LoadBalancers[0].LoadBalancerName), hold: reportedBecause("load balancer", "it may serve traffic")}, nil
}

func lookListener(ctx context.Context, e *provision.Env, r resource) (*found, error) {
	c := e.AWS
	out, err := c.ELB.DescribeListeners(ctx, &elbv2.DescribeListenersInput{ListenerArns: []string{r.ARN}})
	if err != nil {
		return gone(fmt.Errorf("describing listener %s: %w", r.ID, err))
	}
	if len(out.Listeners) == 0 {
		return nil, nil
	}
	return &found{name: r.ID, hold: reportedBecause("listener", "it belongs to a load balancer that may serve traffic")}, nil
}

func lookListenerRule(ctx context.Context, e *provision.Env, r resource) (*found, error) {
	c := e.AWS
	out, err := c.ELB.DescribeRules(ctx, &elbv2.DescribeRulesInput{RuleArns: []string{r.ARN}})
	if err != nil {
		return gone(fmt.Errorf("describing listener rule %s: %w", r.ID, err))
	}
	if len(out.Rules) == 0 {
		return nil, nil
	}
	return &found{name: r.ID, hold: reportedBecause("listener rule", "it belongs to a load balancer that may serve traffic")}, nil
}

func lookCluster(ctx context.Context, e *provision.Env, r resource) (*found, error) {
	c := e.AWS
	out, err := c.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{r.ARN}})
	if err != nil {
		return gone(fmt.Errorf("describing ECS cluster %s: %w", r.ID, err))
	}
	for _, cl := range out.Clusters {
		// DeleteCluster leaves it INACTIVE, still tagged, for a while.
		if aws.ToString(cl.ClusterArn) == r.ARN && aws.ToString(cl.Status) != "INACTIVE" {
			return &found{name: r.ID, hold: reportedBecause("ECS cluster", "it may run services")}, nil
		}
	}
	return nil, nil
}

func lookECSService(ctx context.Context, e *provision.Env, r resource) (*found, error) {
	c := e.AWS
	cluster, _, ok := strings.Cut(r.ID, "/")
	if !ok {
		// The old ARN format does not name the cluster: reported as the index lists it.
		return &found{name: r.ID, hold: reportedBecause("ECS service", "it may run tasks")}, nil
	}
	out, err := c.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{r.ARN}})
	if err != nil {
		return gone(fmt.Errorf("describing ECS service %s: %w", r.ID, err))
	}
	for _, s := range out.Services {
		// DeleteService leaves it DRAINING, then INACTIVE, still tagged, for a while.
		if aws.ToString(s.ServiceArn) == r.ARN && aws.ToString(s.Status) == "ACTIVE" {
			return &found{name: r.ID, hold: reportedBecause("ECS service", "it may run tasks")}, nil
		}
	}
	return nil, nil
}

func lookNamespace(ctx context.Context, e *provision.Env, r resource) (*found, error) {
	c := e.AWS
	out, err := c.ServiceDisc.GetNamespace(ctx, &sd.GetNamespaceInput{Id: aws.String(r.ID)})
	if err != nil {
		return gone(fmt.Errorf("reading Cloud Map namespace %s: %w", r.ID, err))
	}
	return &found{name: aws.ToString(out.Namespace.Name), hold: reportedBecause("Cloud Map namespace", "it may hold services and a hosted zone")}, nil
}

func lookDiscoveryService(ctx context.Context, e *provision.Env, r resource) (*found, error) {
	c := e.AWS
	out, err := c.ServiceDisc.GetService(ctx, &sd.GetServiceInput{Id: aws.String(r.ID)})
	if err != nil {
		return gone(fmt.Errorf("reading Cloud Map service %s: %w", r.ID, err))
	}
	return &found{name: aws.ToString(out.Service.Name), hold: reportedBecause("Cloud Map service", "it may hold registered instances")}, nil
}

// lookMesh answers for a mesh and everything in it (mesh/NAME/virtualNode/...): they go with it.
func lookMesh(ctx context.Context, e *provision.Env, r resource) (*found, error) {
	c := e.AWS
	mesh, _, _ := strings.Cut(r.ID, "/")
	out, err := c.AppMesh.DescribeMesh(ctx, &appmesh.DescribeMeshInput{MeshName: aws.String(mesh)})
	if err != nil {
		return gone(fmt.Errorf("describing mesh %s: %w", mesh, err))
	}
	if out.Mesh != nil && out.Mesh.Status != nil && out.Mesh.Status.Status == meshtypes.MeshStatusCodeDeleted {
		return nil, nil
	}
	return &found{name: r.ID, hold: reportedBecause("App Mesh resource", "it may route traffic")}, nil
}
