package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	sd "github.com/aws/aws-sdk-go-v2/service/servicediscovery"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/naming"
)

// assertPlatform reads back SPEC rows 6-20 and checks names and settings.
func assertPlatform(t *testing.T, dir, env string) {
	t.Helper()
	ctx, c, n := context.Background(), clients(t), naming.Names{Env: env}
	account, region := "123456789012", "us-east-1"

	// Row 6: the secret; its value is JSON with a 32-character alphanumeric password.
	sec, err := c.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(n.Secret())})
	must(t, err)
	val, err := c.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: sec.ARN})
	must(t, err)
	var creds struct{ Username, Password string }
	must(t, json.Unmarshal([]byte(aws.ToString(val.SecretString)), &creds))
	if creds.Username != "dbadmin" || len(creds.Password) != 32 || strings.ContainsAny(creds.Password, " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") {
		t.Errorf("secret holds user %q and a password of %d characters with punctuation or spaces", creds.Username, len(creds.Password))
	}

	// Row 7: the key, its rotation, alias and policy.
	key, err := c.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(n.KeyAlias())})
	must(t, err)
	if !strings.Contains(aws.ToString(key.KeyMetadata.Description), env) || !key.KeyMetadata.Enabled {
		t.Errorf("key description %q, enabled %t", aws.ToString(key.KeyMetadata.Description), key.KeyMetadata.Enabled)
	}
	rot, err := c.KMS.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: key.KeyMetadata.KeyId})
	must(t, err)
	if !rot.KeyRotationEnabled {
		t.Error("key rotation is off")
	}
	pol, err := c.KMS.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: key.KeyMetadata.KeyId, PolicyName: aws.String("default")})
	must(t, err)
	policy := aws.ToString(pol.Policy)
	for _, want := range []string{`"AWS":"arn:aws:iam::` + account + `:root"`, `"Service":"logs.` + region + `.amazonaws.com"`,
		`"kms:EncryptionContext:aws:logs:arn":"arn:aws:logs:` + region + `:` + account + `:log-group:*"`, `"ArnLike"`,
		`"kms:ReEncrypt*"`, `"kms:GenerateDataKey*"`, `"kms:CreateGrant"`, `"kms:DescribeKey"`} {
		if !strings.Contains(policy, want) {
			t.Errorf("key policy lacks %s: %s", want, policy)
		}
	}

	// Row 8: the cluster.
	cl, err := c.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{n.Cluster()}, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldSettings, ecstypes.ClusterFieldTags}})
	must(t, err)
	if len(cl.Clusters) != 1 || aws.ToString(cl.Clusters[0].Status) != "ACTIVE" {
		t.Fatalf("clusters = %+v", cl.Clusters)
	}
	cluster := cl.Clusters[0]
	providers := append([]string(nil), cluster.CapacityProviders...)
	sort.Strings(providers)
	if strings.Join(providers, ",") != "FARGATE,FARGATE_SPOT" || len(cluster.Settings) == 0 || aws.ToString(cluster.Settings[0].Value) != "enabled" {
		t.Errorf("cluster providers %v, settings %+v", providers, cluster.Settings)
	}
	if tags := ecsTags(cluster.Tags); tags["Environment"] != env || tags["ManagedBy"] != "tapctl" {
		t.Errorf("cluster tags = %v", tags)
	}

	// Row 9: the namespace.
	ns, err := c.ServiceDisc.GetNamespace(ctx, &sd.GetNamespaceInput{Id: aws.String(stateResource(t, dir, env, "namespace").ID)})
	must(t, err)
	if aws.ToString(ns.Namespace.Name) != env+".local" || ns.Namespace.Type != "DNS_PRIVATE" {
		t.Errorf("namespace %s of type %s", aws.ToString(ns.Namespace.Name), ns.Namespace.Type)
	}

	// Rows 12 and 14: the security groups.
	albSG := assertSecurityGroupRules(t, dir, env, catalog.Default())

	// Row 13: the load balancer and its listener.
	lbs, err := c.ELB.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{n.ALB()}})
	must(t, err)
	if len(lbs.LoadBalancers) != 1 {
		t.Fatalf("want 1 load balancer named %s, got %d", n.ALB(), len(lbs.LoadBalancers))
	}
	lb := lbs.LoadBalancers[0]
	if lb.Scheme != "internet-facing" || lb.Type != "application" || len(lb.AvailabilityZones) != 3 || len(lb.SecurityGroups) != 1 || lb.SecurityGroups[0] != albSG {
		t.Errorf("load balancer scheme %s, type %s, %d AZs, groups %v", lb.Scheme, lb.Type, len(lb.AvailabilityZones), lb.SecurityGroups)
	}
	listeners, err := c.ELB.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
	must(t, err)
	if len(listeners.Listeners) != 1 {
		t.Fatalf("want 1 listener, got %d", len(listeners.Listeners))
	}
	l := listeners.Listeners[0]
	fr := l.DefaultActions[0].FixedResponseConfig
	if aws.ToInt32(l.Port) != 80 || l.Protocol != "HTTP" || fr == nil || aws.ToString(fr.StatusCode) != "404" || aws.ToString(fr.ContentType) != "text/plain" || aws.ToString(fr.MessageBody) != "Not Found" {
		t.Errorf("listener %d %s default %+v", aws.ToInt32(l.Port), l.Protocol, fr)
	}
	rules, err := c.ELB.DescribeRules(ctx, &elbv2.DescribeRulesInput{ListenerArn: l.ListenerArn})
	must(t, err)
	byPriority := map[string]string{}
	for _, r := range rules.Rules {
		if !aws.ToBool(r.IsDefault) {
			var targets []string
			if fc := r.Actions[0].ForwardConfig; fc != nil {
				for _, tg := range fc.TargetGroups {
					targets = append(targets, fmt.Sprintf("%s=%d", aws.ToString(tg.TargetGroupArn), aws.ToInt32(tg.Weight)))
				}
			} else {
				targets = append(targets, aws.ToString(r.Actions[0].TargetGroupArn)+"=100")
			}
			sort.Strings(targets)
			byPriority[aws.ToString(r.Priority)] = r.Conditions[0].PathPatternConfig.Values[0] + " -> " + strings.Join(targets, ",")
		}
	}

	for _, svc := range catalog.Default() {
		s := svc.Name
		// Row 11: the repository.
		repos, err := c.ECR.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{n.Repository(s)}})
		must(t, err)
		repo := repos.Repositories[0]
		if !repo.ImageScanningConfiguration.ScanOnPush || repo.EncryptionConfiguration.EncryptionType != "AES256" {
			t.Errorf("repository %s: scan %t, encryption %s", s, repo.ImageScanningConfiguration.ScanOnPush, repo.EncryptionConfiguration.EncryptionType)
		}
		lp, err := c.ECR.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: repo.RepositoryName})
		must(t, err)
		var lifecycle struct {
			Rules []struct {
				Selection struct {
					TagStatus, CountType string
					CountNumber          int
				}
				Action struct{ Type string }
			}
		}
		if err := json.Unmarshal([]byte(aws.ToString(lp.LifecyclePolicyText)), &lifecycle); err != nil || len(lifecycle.Rules) != 1 ||
			lifecycle.Rules[0].Selection.CountNumber != 10 || lifecycle.Rules[0].Selection.CountType != "imageCountMoreThan" ||
			lifecycle.Rules[0].Selection.TagStatus != "any" || lifecycle.Rules[0].Action.Type != "expire" {
			t.Errorf("lifecycle policy of %s = %s", s, aws.ToString(lp.LifecyclePolicyText))
		}

		// Rows 15 and 16: the roles and their exact policies.
		assertRole(t, n.ExecutionRole(s), []string{"arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"}, map[string][]string{
			"secretsmanager:GetSecretValue secretsmanager:DescribeSecret": {aws.ToString(sec.ARN)},
			"kms:Encrypt kms:Decrypt":                                     {aws.ToString(key.KeyMetadata.Arn)},
		})
		assertRole(t, n.TaskRole(s), nil, map[string][]string{
			"s3:GetObject s3:PutObject": {"arn:aws:s3:::" + s + "-bucket-" + env + "/*"},
			"s3:ListBucket":             {"arn:aws:s3:::" + s + "-bucket-" + env},
			"dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem dynamodb:Query dynamodb:Scan": {"arn:aws:dynamodb:" + region + ":" + account + ":table/" + s + "-table-" + env},
			ecsExecStatement: {"*"},
		})

		assertInfrastructureRole(t, n.InfrastructureRole(s))

		// Row 17: the log group.
		lgs, err := c.Logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(n.LogGroup(s))})
		must(t, err)
		if len(lgs.LogGroups) != 1 || aws.ToInt32(lgs.LogGroups[0].RetentionInDays) != 7 || aws.ToString(lgs.LogGroups[0].KmsKeyId) != aws.ToString(key.KeyMetadata.Arn) {
			t.Errorf("log group %s = %+v", n.LogGroup(s), lgs.LogGroups)
		}

		// Row 18: the task definition.
		td, err := c.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(n.TaskFamily(s)), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
		must(t, err)
		def := td.TaskDefinition
		cd := def.ContainerDefinitions[0]
		if aws.ToString(def.Cpu) != "1024" || aws.ToString(def.Memory) != "2048" || def.NetworkMode != "awsvpc" || def.RequiresCompatibilities[0] != "FARGATE" ||
			!strings.HasSuffix(aws.ToString(def.ExecutionRoleArn), "/"+n.ExecutionRole(s)) || !strings.HasSuffix(aws.ToString(def.TaskRoleArn), "/"+n.TaskRole(s)) {
			t.Errorf("task definition %s = cpu %s mem %s %s %v", s, aws.ToString(def.Cpu), aws.ToString(def.Memory), def.NetworkMode, def.RequiresCompatibilities)
		}
		if aws.ToString(cd.Name) != s+"-container" || aws.ToString(cd.Image) != "amazon/amazon-ecs-sample" || aws.ToInt32(cd.PortMappings[0].ContainerPort) != 80 ||
			cd.LogConfiguration.Options["awslogs-group"] != n.LogGroup(s) || cd.LogConfiguration.Options["awslogs-stream-prefix"] != s {
			t.Errorf("container of %s = %+v", s, cd)
		}
		env3 := map[string]string{}
		for _, kv := range cd.Environment {
			env3[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
		}
		if env3["SERVICE_NAME"] != s || env3["ENVIRONMENT"] != env || env3["PORT"] != "80" {
			t.Errorf("environment of %s = %v", s, env3)
		}
		secrets := map[string]string{}
		for _, sc := range cd.Secrets {
			secrets[aws.ToString(sc.Name)] = aws.ToString(sc.ValueFrom)
		}
		if secrets["DB_PASSWORD"] != aws.ToString(sec.ARN)+":password::" || secrets["DB_USERNAME"] != aws.ToString(sec.ARN)+":username::" {
			t.Errorf("secrets of %s = %v", s, secrets)
		}

		// Rows 19 and 20: target group and listener rule.
		tgs, err := c.ELB.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{n.TargetGroup(s)}})
		must(t, err)
		tg := tgs.TargetGroups[0]
		if tg.TargetType != "ip" || tg.Protocol != "HTTP" || aws.ToInt32(tg.Port) != 80 || aws.ToString(tg.HealthCheckPath) != "/" ||
			aws.ToInt32(tg.HealthCheckIntervalSeconds) != 30 || aws.ToInt32(tg.HealthCheckTimeoutSeconds) != 5 ||
			aws.ToInt32(tg.HealthyThresholdCount) != 2 || aws.ToInt32(tg.UnhealthyThresholdCount) != 3 {
			t.Errorf("target group %s = %+v", s, tg)
		}
		attrs, err := c.ELB.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn})
		must(t, err)
		for _, a := range attrs.Attributes {
			if aws.ToString(a.Key) == "deregistration_delay.timeout_seconds" && aws.ToString(a.Value) != "30" {
				t.Errorf("deregistration delay of %s = %s", s, aws.ToString(a.Value))
			}
		}
		// Blue/green: the production rule names both groups, all traffic on the primary.
		forward := []string{aws.ToString(tg.TargetGroupArn) + "=100", stateResource(t, dir, env, s+"/alt-target-group").ID + "=0"}
		sort.Strings(forward)
		if got, want := byPriority[fmt.Sprint(svc.Priority)], svc.PathPattern+" -> "+strings.Join(forward, ","); got != want {
			t.Errorf("rule at priority %d = %q, want %q", svc.Priority, got, want)
		}
	}
}

// assertSecurityGroupRules checks SPEC rows 12 and 14 for a catalog: the two groups hold exactly
// their rules, nothing more (IPv6 ranges and prefix lists included); the task group admits the
// load balancer's on each distinct port of the services. It returns the load balancer's group.
func assertSecurityGroupRules(t *testing.T, dir, env string, services []catalog.Service) (albSG string) {
	t.Helper()
	ctx, c := context.Background(), clients(t)
	albSG, taskSG := stateResource(t, dir, env, "alb-security-group").ID, stateResource(t, dir, env, "task-security-group").ID
	groups, err := c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{albSG, taskSG}})
	must(t, err)
	if len(groups.SecurityGroups) != 2 {
		t.Fatalf("found %d of the 2 security groups", len(groups.SecurityGroups))
	}
	for _, g := range groups.SecurityGroups {
		got := sgRules(g)
		want := []string{"egress -1 0.0.0.0/0", "ingress tcp 443 0.0.0.0/0", "ingress tcp 80 0.0.0.0/0"}
		if aws.ToString(g.GroupId) == taskSG {
			want = []string{"egress -1 0.0.0.0/0", "ingress -1 " + taskSG}
			for _, svc := range services {
				if rule := fmt.Sprintf("ingress tcp %d %s", svc.Port, albSG); !slices.Contains(want, rule) {
					want = append(want, rule)
				}
			}
			sort.Strings(want)
		}
		if strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Errorf("security group %s rules = %v, want %v", aws.ToString(g.GroupName), got, want)
		}
		assertTagged(t, env, "security group", g.Tags)
	}
	return albSG
}

func sgRules(g ec2types.SecurityGroup) []string {
	var out []string
	add := func(dir string, perms []ec2types.IpPermission) {
		for _, p := range perms {
			proto, port := aws.ToString(p.IpProtocol), ""
			if proto != "-1" {
				port = fmt.Sprintf(" %d", aws.ToInt32(p.FromPort))
				if aws.ToInt32(p.ToPort) != aws.ToInt32(p.FromPort) {
					port += fmt.Sprintf("-%d", aws.ToInt32(p.ToPort))
				}
			}
			for _, r := range p.IpRanges {
				out = append(out, dir+" "+proto+port+" "+aws.ToString(r.CidrIp))
			}
			for _, r := range p.Ipv6Ranges {
				out = append(out, dir+" "+proto+port+" "+aws.ToString(r.CidrIpv6))
			}
			for _, pl := range p.PrefixListIds {
				out = append(out, dir+" "+proto+port+" "+aws.ToString(pl.PrefixListId))
			}
			for _, pair := range p.UserIdGroupPairs {
				out = append(out, dir+" "+proto+port+" "+aws.ToString(pair.GroupId))
			}
		}
	}
	add("ingress", g.IpPermissions)
	add("egress", g.IpPermissionsEgress)
	sort.Strings(out)
	return out
}

// assertRole checks a role's trust, managed policies and inline statements (actions -> resources).
func assertRole(t *testing.T, name string, managed []string, statements map[string][]string) {
	t.Helper()
	ctx, c := context.Background(), clients(t).IAM
	role, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	must(t, err)
	trust, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	if !strings.Contains(trust, `"Service":"ecs-tasks.amazonaws.com"`) || !strings.Contains(trust, "sts:AssumeRole") {
		t.Errorf("trust of %s = %s", name, trust)
	}
	attached, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	must(t, err)
	var got []string
	for _, p := range attached.AttachedPolicies {
		got = append(got, aws.ToString(p.PolicyArn))
	}
	if strings.Join(got, ",") != strings.Join(managed, ",") {
		t.Errorf("managed policies of %s = %v, want %v", name, got, managed)
	}
	inline, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	must(t, err)
	if len(inline.PolicyNames) != 1 {
		t.Fatalf("%s has inline policies %v", name, inline.PolicyNames)
	}
	doc, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(inline.PolicyNames[0])})
	must(t, err)
	raw, _ := url.QueryUnescape(aws.ToString(doc.PolicyDocument))
	var pd struct {
		Statement []struct {
			Effect   string
			Action   []string
			Resource []string
		}
	}
	must(t, json.Unmarshal([]byte(raw), &pd))
	have := map[string][]string{}
	for _, st := range pd.Statement {
		if st.Effect != "Allow" {
			t.Errorf("%s has a %s statement", name, st.Effect)
		}
		for _, a := range st.Action {
			if strings.Contains(a, "*") {
				t.Errorf("%s grants wildcard action %s", name, a)
			}
		}
		for _, r := range st.Resource {
			if r == "*" && !wildcardResourceAllowed(st.Action) {
				t.Errorf("%s grants %v on resource *", name, st.Action)
			}
		}
		have[strings.Join(st.Action, " ")] = st.Resource
	}
	if fmt.Sprint(have) != fmt.Sprint(statements) {
		t.Errorf("inline policy of %s = %v, want %v", name, have, statements)
	}
}

func TestPlatformInventory(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	tapctl(t, dir, "up", "--env", env).mustSucceed(t)
	assertNetwork(t, env)
	assertPlatform(t, dir, env)
	assertReachable(t, env, catalog.Default())
	info, err := os.Stat(filepath.Join(dir, env+".json"))
	must(t, err)
	if info.Mode().Perm() != 0o600 {
		t.Errorf("state file mode = %v, want 0600", info.Mode().Perm())
	}
}

// The blue/green infrastructure role: trusted by ECS itself, only the AWS managed policy.
func assertInfrastructureRole(t *testing.T, name string) {
	t.Helper()
	ctx, c := context.Background(), clients(t).IAM
	role, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	must(t, err)
	trust, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	if !strings.Contains(trust, `"Service":"ecs.amazonaws.com"`) {
		t.Errorf("trust of %s = %s", name, trust)
	}
	attached, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	must(t, err)
	inline, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	must(t, err)
	if len(attached.AttachedPolicies) != 1 || aws.ToString(attached.AttachedPolicies[0].PolicyArn) != "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers" || len(inline.PolicyNames) != 0 {
		t.Errorf("%s policies: attached %+v, inline %v", name, attached.AttachedPolicies, inline.PolicyNames)
	}
}
