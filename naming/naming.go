// Package naming checks environment and service names and derives every AWS name tapctl
// generates from them, so that a name AWS would reject, or one two inputs would share, is
// refused before the first API call.
package naming

import (
	"fmt"
	"regexp"
	"strings"
)

var envPattern = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// servicePattern has no hyphen: every per-service name is "{service}-...-{env}" and
// environment names hold hyphens, so only a hyphen-free service name makes the first hyphen
// split the service from the rest, and no two (environment, service) pairs share a name.
var servicePattern = regexp.MustCompile(`^[a-z][a-z0-9]*$`)

// MaxServiceLength leaves room for an environment name in the 32 characters of a target group
// name ("{service}-tg2-{env}"); ValidateEnv checks the exact lengths per environment.
const MaxServiceLength = 20

// hyphenClash is the collision a hyphen in a service name would allow, told by example.
const hyphenClash = `service "api-v2" in environment pr1 and service "api" in environment v2-pr1 would share names (task definition family api-v2-pr1)`

// ValidateService checks a service name: lowercase letters and digits, starting with a letter,
// at most MaxServiceLength characters. The error starts with the quoted name.
func ValidateService(svc string) error {
	if strings.Contains(svc, "-") {
		return fmt.Errorf("%q: hyphens are not allowed in a service name, because AWS names are {service}-...-{env} and %s; use %s",
			svc, hyphenClash, withoutHyphens(svc))
	}
	if !servicePattern.MatchString(svc) {
		return fmt.Errorf("%q: a service name starts with a lowercase letter and holds only lowercase letters and digits", svc)
	}
	if len(svc) > MaxServiceLength {
		return fmt.Errorf("%q is %d characters; a service name has at most %d (it goes into target group names, which AWS limits to 32)", svc, len(svc), MaxServiceLength)
	}
	return nil
}

// withoutHyphens suggests a name for one with hyphens: the same without them, when that is a
// valid name, else an example.
func withoutHyphens(svc string) string {
	if s := strings.ReplaceAll(svc, "-", ""); servicePattern.MatchString(s) && len(s) <= MaxServiceLength {
		return fmt.Sprintf("%q", s)
	}
	return `a name such as "apiv2"`
}

// Names derives resource names for one environment. An overlay environment (Base set) shares
// its base's network, cluster and load balancer: those names are the base's.
type Names struct{ Env, Base string }

// shared is the environment whose network, cluster and load balancer these are.
func (n Names) shared() string {
	if n.Base != "" {
		return n.Base
	}
	return n.Env
}

func (n Names) VPC() string { return "microservices-vpc-" + n.shared() }
func (n Names) Subnet(kind string, az int) string {
	return fmt.Sprintf("microservices-%s-%d-%s", kind, az+1, n.shared())
}
func (n Names) InternetGateway() string { return "microservices-igw-" + n.shared() }
func (n Names) NATGateway() string      { return "microservices-nat-" + n.shared() }
func (n Names) ElasticIP() string       { return "microservices-nat-eip-" + n.shared() }

// NATGatewayIn and ElasticIPIn name the NAT gateway of an AZ (0-2) and its address: the first
// AZ's are NATGateway and ElasticIP, the names of the one gateway an environment had before
// network.natGateways (environment names start with a letter, so "-2-" cannot meet them).
func (n Names) NATGatewayIn(az int) string {
	if az == 0 {
		return n.NATGateway()
	}
	return fmt.Sprintf("microservices-nat-%d-%s", az+1, n.shared())
}
func (n Names) ElasticIPIn(az int) string {
	if az == 0 {
		return n.ElasticIP()
	}
	return fmt.Sprintf("microservices-nat-eip-%d-%s", az+1, n.shared())
}

// VPCEndpoint names the endpoint of one service (s3, dynamodb, ecr.api, ecr.dkr, logs).
func (n Names) VPCEndpoint(kind string) string {
	return "microservices-vpce-" + kind + "-" + n.shared()
}

// EndpointSecurityGroup admits HTTPS from the private subnets to the interface endpoints.
func (n Names) EndpointSecurityGroup() string { return "microservices-vpce-sg-" + n.shared() }

func (n Names) RouteTable(kind string) string {
	return fmt.Sprintf("microservices-%s-rt-%s", kind, n.shared())
}
func (n Names) Secret() string           { return "db-credentials-" + n.Env }
func (n Names) KeyAlias() string         { return "alias/microservices-logs-" + n.Env }
func (n Names) Cluster() string          { return "microservices-cluster-" + n.shared() }
func (n Names) Namespace() string        { return n.Env + ".local" }
func (n Names) Mesh() string             { return "microservices-mesh-" + n.Env }
func (n Names) ALB() string              { return "microservices-alb-" + n.shared() }
func (n Names) ALBSecurityGroup() string { return "microservices-alb-sg-" + n.shared() }
func (n Names) TaskSecurityGroup() string {
	return "microservices-task-sg-" + n.Env
}
func (n Names) Dashboard() string { return "microservices-dashboard-" + n.Env }

// Per-service names.
func (n Names) Repository(svc string) string    { return svc + "-service-" + n.Env }
func (n Names) ExecutionRole(svc string) string { return svc + "-execution-role-" + n.Env }
func (n Names) TaskRole(svc string) string      { return svc + "-task-role-" + n.Env }
func (n Names) LogGroup(svc string) string      { return "/ecs/" + svc + "-service-" + n.Env }
func (n Names) TaskFamily(svc string) string    { return svc + "-" + n.Env }
func (n Names) Container(svc string) string     { return svc + "-container" }
func (n Names) TargetGroup(svc string) string   { return svc + "-tg-" + n.Env }
func (n Names) AltTargetGroup(svc string) string {
	return svc + "-tg2-" + n.Env
}
func (n Names) Service(svc string) string        { return svc + "-service-" + n.Env }
func (n Names) VirtualNode(svc string) string    { return svc + "-node-" + n.Env }
func (n Names) VirtualService(svc string) string { return svc + ".local" }
func (n Names) InfrastructureRole(svc string) string {
	return svc + "-ecs-infra-role-" + n.Env
}
func (n Names) ScalingPolicy(svc string) string    { return svc + "-cpu-scaling-" + n.Env }
func (n Names) DiscoveryService(svc string) string { return svc }
func (n Names) Bucket(svc string) string           { return svc + "-bucket-" + n.Env }
func (n Names) Table(svc string) string            { return svc + "-table-" + n.Env }

// The two CloudWatch alarms that roll a deployment of the service back.
func (n Names) Alarm5xx(svc string) string       { return svc + "-5xx-" + n.Env }
func (n Names) AlarmUnhealthy(svc string) string { return svc + "-unhealthy-" + n.Env }

// ServiceConnectPort is the service's named port, which Service Connect also registers as a
// Cloud Map service in the environment's namespace, beside DiscoveryService.
func (n Names) ServiceConnectPort(svc string) string { return svc + "-http" }

// limit is one AWS naming rule that a generated name must satisfy.
type limit struct {
	kind string
	max  int
	name func(n Names, svc string) string
}

// Limits from the AWS API references: ELBv2 load balancer and target group names 32,
// IAM role names 64, ECR repository names 256, ECS cluster/service/family names 255,
// Secrets Manager names 512, CloudWatch dashboard names 255, log group names 512,
// Cloud Map namespace names 1024 (DNS labels 63), App Mesh names 255.
var envLimits = []limit{
	{"load balancer name", 32, func(n Names, _ string) string { return n.ALB() }},
	{"VPC name tag", 255, func(n Names, _ string) string { return n.VPC() }},
	{"ECS cluster name", 255, func(n Names, _ string) string { return n.Cluster() }},
	{"dashboard name", 255, func(n Names, _ string) string { return n.Dashboard() }},
	{"security group name", 255, func(n Names, _ string) string { return n.TaskSecurityGroup() }},
	{"Cloud Map namespace label", 63, func(n Names, _ string) string { return n.Env }},
	{"App Mesh mesh name", 255, func(n Names, _ string) string { return n.Mesh() }},
}

var serviceLimits = []limit{
	{"target group name", 32, func(n Names, s string) string { return n.TargetGroup(s) }},
	{"target group name", 32, func(n Names, s string) string { return n.AltTargetGroup(s) }},
	{"IAM role name", 64, func(n Names, s string) string { return n.ExecutionRole(s) }},
	{"IAM role name", 64, func(n Names, s string) string { return n.TaskRole(s) }},
	{"IAM role name", 64, func(n Names, s string) string { return n.InfrastructureRole(s) }},
	{"ECR repository name", 256, func(n Names, s string) string { return n.Repository(s) }},
	{"ECS service name", 255, func(n Names, s string) string { return n.Service(s) }},
	{"task definition family", 255, func(n Names, s string) string { return n.TaskFamily(s) }},
	{"S3 bucket name", 63, func(n Names, s string) string { return n.Bucket(s) }},
	{"App Mesh virtual node name", 255, func(n Names, s string) string { return n.VirtualNode(s) }},
}

// ValidateEnv checks an environment name against the character rules, the given service names
// against theirs, and every generated name's length limit.
func ValidateEnv(env string, services []string) error {
	if env == "" {
		return fmt.Errorf("--env is required (for example --env pr6906)")
	}
	if !envPattern.MatchString(env) {
		return fmt.Errorf("invalid --env %q: it must start with a lowercase letter and hold only lowercase letters, digits and hyphens", env)
	}
	if env[len(env)-1] == '-' {
		return fmt.Errorf("invalid --env %q: it must not end with a hyphen (load balancer and target group names cannot)", env)
	}
	n := Names{Env: env}
	for _, l := range envLimits {
		if name := l.name(n, ""); len(name) > l.max {
			return tooLong(env, l, name)
		}
	}
	for _, svc := range services {
		if err := ValidateService(svc); err != nil {
			return fmt.Errorf("invalid service name %w", err)
		}
		for _, l := range serviceLimits {
			if name := l.name(n, svc); len(name) > l.max {
				return tooLong(env, l, name)
			}
		}
	}
	return nil
}

// MaxEnvLength is the longest environment name the given services allow.
func MaxEnvLength(services []string) int {
	best := 0
	for length := 1; length <= 64; length++ {
		env := "a"
		for len(env) < length {
			env += "a"
		}
		if ValidateEnv(env, services) != nil {
			break
		}
		best = length
	}
	return best
}

func tooLong(env string, l limit, name string) error {
	return fmt.Errorf("invalid --env %q: too long, the %s %q would be %d characters and AWS allows %d; use a shorter name",
		env, l.kind, name, len(name), l.max)
}
