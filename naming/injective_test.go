package naming

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// SPEC, Ownership: no two (environment, service) inputs may produce the same AWS name. These
// tests hold every name of Names to that: one pattern never gives two inputs the same name, and
// two patterns that share an AWS namespace never give the same name at all.

// input is one (environment, service) pair a run may be given.
type input struct{ env, svc string }

// pattern is one generated name and the AWS namespace it must be unique in.
type pattern struct {
	label     string // the Names method, with its fixed arguments
	namespace string
	perEnv    bool // the name depends on the environment only (env-level resources)
	name      func(n Names, svc string) string
}

// namespace is where AWS wants a name unique. Within an environment's own parent (its VPC,
// cluster, mesh, Cloud Map namespace, task definitions) only names of the same environment meet.
type namespace struct {
	name        string
	environment bool // inside a parent the environment owns
}

var namespaces = []namespace{
	{"EC2 VPC Name tag", false}, {"EC2 subnet Name tag", false}, {"EC2 internet gateway Name tag", false},
	{"EC2 NAT gateway Name tag", false}, {"EC2 VPC endpoint Name tag", false}, {"EC2 Elastic IP Name tag", false}, {"EC2 route table Name tag", false},
	{"EC2 security group name", true}, {"Secrets Manager secret", false}, {"KMS alias", false},
	{"ECS cluster", false}, {"Cloud Map namespace", false}, {"App Mesh mesh", false},
	{"ELB load balancer", false}, {"CloudWatch dashboard", false}, {"ECR repository", false},
	{"IAM role", false}, {"CloudWatch Logs log group", false}, {"ECS task definition family", false},
	{"container name", true}, {"ELB target group", false}, {"ECS service", true},
	{"App Mesh virtual node", true}, {"App Mesh virtual service", true},
	{"Application Auto Scaling policy", true}, {"Cloud Map service", true}, {"S3 bucket", false},
	{"DynamoDB table", false}, {"CloudWatch alarm", false},
}

func env(f func(Names) string) func(Names, string) string {
	return func(n Names, _ string) string { return f(n) }
}

// patterns lists every method of Names (TestEveryNameHasAPattern keeps it complete).
func patterns() []pattern {
	p := []pattern{
		{"VPC", "EC2 VPC Name tag", true, env(Names.VPC)},
		{"InternetGateway", "EC2 internet gateway Name tag", true, env(Names.InternetGateway)},
		{"NATGateway", "EC2 NAT gateway Name tag", true, env(Names.NATGateway)},
		{"ElasticIP", "EC2 Elastic IP Name tag", true, env(Names.ElasticIP)},
		{"ALBSecurityGroup", "EC2 security group name", true, env(Names.ALBSecurityGroup)},
		{"EndpointSecurityGroup", "EC2 security group name", true, env(Names.EndpointSecurityGroup)},
		{"TaskSecurityGroup", "EC2 security group name", true, env(Names.TaskSecurityGroup)},
		{"Secret", "Secrets Manager secret", true, env(Names.Secret)},
		{"KeyAlias", "KMS alias", true, env(Names.KeyAlias)},
		{"Cluster", "ECS cluster", true, env(Names.Cluster)},
		{"Namespace", "Cloud Map namespace", true, env(Names.Namespace)},
		{"Mesh", "App Mesh mesh", true, env(Names.Mesh)},
		{"ALB", "ELB load balancer", true, env(Names.ALB)},
		{"Dashboard", "CloudWatch dashboard", true, env(Names.Dashboard)},
		{"Repository", "ECR repository", false, Names.Repository},
		{"ExecutionRole", "IAM role", false, Names.ExecutionRole},
		{"TaskRole", "IAM role", false, Names.TaskRole},
		{"InfrastructureRole", "IAM role", false, Names.InfrastructureRole},
		{"LogGroup", "CloudWatch Logs log group", false, Names.LogGroup},
		{"TaskFamily", "ECS task definition family", false, Names.TaskFamily},
		{"Container", "container name", false, Names.Container},
		{"TargetGroup", "ELB target group", false, Names.TargetGroup},
		{"AltTargetGroup", "ELB target group", false, Names.AltTargetGroup},
		{"Service", "ECS service", false, Names.Service},
		{"VirtualNode", "App Mesh virtual node", false, Names.VirtualNode},
		{"VirtualService", "App Mesh virtual service", false, Names.VirtualService},
		{"ScalingPolicy", "Application Auto Scaling policy", false, Names.ScalingPolicy},
		{"DiscoveryService", "Cloud Map service", false, Names.DiscoveryService},
		{"ServiceConnectPort", "Cloud Map service", false, Names.ServiceConnectPort},
		{"Bucket", "S3 bucket", false, Names.Bucket},
		{"Table", "DynamoDB table", false, Names.Table},
		{"Alarm5xx", "CloudWatch alarm", false, Names.Alarm5xx},
		{"AlarmUnhealthy", "CloudWatch alarm", false, Names.AlarmUnhealthy},
	}
	// The zones of the NAT gateways and the kinds of VPC endpoints (provision/nat_gateway.go,
	// vpc_endpoints.go).
	for az := 1; az < 3; az++ { // NATGatewayIn(0) is NATGateway
		p = append(p, pattern{fmt.Sprintf("NATGatewayIn(%d)", az), "EC2 NAT gateway Name tag", true,
			env(func(n Names) string { return n.NATGatewayIn(az) })})
		p = append(p, pattern{fmt.Sprintf("ElasticIPIn(%d)", az), "EC2 Elastic IP Name tag", true,
			env(func(n Names) string { return n.ElasticIPIn(az) })})
	}
	for _, kind := range []string{"s3", "dynamodb", "ecr.api", "ecr.dkr", "logs"} {
		p = append(p, pattern{"VPCEndpoint(" + kind + ")", "EC2 VPC endpoint Name tag", true,
			env(func(n Names) string { return n.VPCEndpoint(kind) })})
	}
	// The kinds and zones provision/subnets.go and route_tables.go use.
	for _, kind := range []string{"public", "private", "private-2", "private-3"} {
		p = append(p, pattern{"RouteTable(" + kind + ")", "EC2 route table Name tag", true,
			env(func(n Names) string { return n.RouteTable(kind) })})
		for az := range 3 {
			p = append(p, pattern{fmt.Sprintf("Subnet(%s,%d)", kind, az), "EC2 subnet Name tag", true,
				env(func(n Names) string { return n.Subnet(kind, az) })})
		}
	}
	return p
}

func namespaceOf(t testing.TB, name string) namespace {
	for _, ns := range namespaces {
		if ns.name == name {
			return ns
		}
	}
	t.Fatalf("pattern in namespace %q, which the namespaces list lacks", name)
	return namespace{}
}

// sameInput: two inputs that the pattern cannot tell apart, and must not.
func (p pattern) sameInput(a, b input) bool {
	if p.perEnv {
		return a.env == b.env
	}
	return a == b
}

// collision says how p at a and q at b clash, or "" when they do not.
func collision(t testing.TB, p, q pattern, a, b input) string {
	if p.namespace != q.namespace {
		return ""
	}
	if namespaceOf(t, p.namespace).environment && a.env != b.env {
		return "" // different parents: different namespaces
	}
	if p.label == q.label && p.sameInput(a, b) {
		return ""
	}
	x, y := p.name(Names{Env: a.env}, a.svc), q.name(Names{Env: b.env}, b.svc)
	if x != y {
		return ""
	}
	return fmt.Sprintf("%s: %s of %+v and %s of %+v are both %q", p.namespace, p.label, a, q.label, b, x)
}

func valid(in input) bool { return ValidateEnv(in.env, []string{in.svc}) == nil }

func TestEveryNameHasAPattern(t *testing.T) {
	var listed []string
	for _, p := range patterns() {
		method, _, _ := strings.Cut(p.label, "(")
		listed = append(listed, method)
		namespaceOf(t, p.namespace)
	}
	typ := reflect.TypeFor[Names]()
	for i := range typ.NumMethod() {
		if m := typ.Method(i).Name; !slices.Contains(listed, m) {
			t.Errorf("Names.%s has no pattern: add it with its AWS namespace, so no two inputs can share its name", m)
		}
	}
}

// FuzzNamesAreInjective: for two valid inputs, no pattern gives both the same name unless they
// are the same input to it, and no two patterns of one AWS namespace meet.
func FuzzNamesAreInjective(f *testing.F) {
	f.Add("pr1", "apiv2", "v2-pr1", "api")
	f.Add("pr1", "api", "tg-pr1", "api")
	f.Add("a-b", "x", "b", "x")
	f.Add("service-x", "api", "x", "api")
	f.Add("pr6906", "payment", "pr6906", "order")
	f.Add("http-a", "b", "a", "b")
	f.Fuzz(func(t *testing.T, env1, svc1, env2, svc2 string) {
		a, b := input{env1, svc1}, input{env2, svc2}
		if !valid(a) || !valid(b) {
			t.Skip()
		}
		all := patterns()
		for _, p := range all {
			for _, q := range all {
				if c := collision(t, p, q, a, b); c != "" {
					t.Fatal(c)
				}
			}
		}
	})
}

// The words tapctl puts into names, as environment parts and service names: where a clash
// would hide if one could.
var tricky = []string{"a", "b1", "pr1", "v2", "tg", "tg2", "service", "execution", "task", "role", "ecs",
	"infra", "node", "cpu", "scaling", "bucket", "table", "5xx", "unhealthy", "http", "container",
	"microservices", "alb", "sg", "nat", "eip", "igw", "vpc", "public", "private", "rt", "1", "2"}

// Every environment of one or two tricky words and every tricky service, each name checked
// against all the others at once.
func TestNamesAreInjectiveOverTrickyInputs(t *testing.T) {
	var inputs []input
	for _, w1 := range tricky {
		for _, w2 := range append([]string{""}, tricky...) {
			e := w1
			if w2 != "" {
				e += "-" + w2
			}
			for _, svc := range tricky {
				if in := (input{e, svc}); valid(in) {
					inputs = append(inputs, in)
				}
			}
		}
	}
	if len(inputs) < 10000 {
		t.Fatalf("only %d valid inputs: the word list lost its coverage", len(inputs))
	}
	type owner struct {
		p  pattern
		in input
	}
	seen := map[string]owner{} // namespace (and environment, where scoped) + name
	for _, p := range patterns() {
		for i, in := range inputs {
			if p.perEnv && i > 0 && inputs[i-1].env == in.env {
				continue // the environment's name was checked with its first service
			}
			key := p.namespace + "|"
			if namespaceOf(t, p.namespace).environment {
				key += in.env
			}
			key += "|" + p.name(Names{Env: in.env}, in.svc)
			if o, ok := seen[key]; ok {
				if c := collision(t, o.p, p, o.in, in); c != "" {
					t.Fatal(c)
				}
				continue
			}
			seen[key] = owner{p, in}
		}
	}
}

// The clashes hyphenated service names allowed, now refused: the first input is refused, the
// second is valid, and under the old rule their names were the same.
func TestHyphenatedServiceNamesAreRefused(t *testing.T) {
	for _, tc := range []struct {
		refused, kept         input
		refusedName, keptName func(Names, string) string
	}{
		{input{"pr1", "api-v2"}, input{"v2-pr1", "api"}, Names.TaskFamily, Names.TaskFamily},
		{input{"x", "a-tg"}, input{"tg-x", "a"}, Names.TargetGroup, Names.TargetGroup},
		// Two patterns of one namespace: a task role and an execution role.
		{input{"x", "a-execution-role"}, input{"task-role-x", "a"}, Names.TaskRole, Names.ExecutionRole},
		// In the environment's Cloud Map namespace: a service's DNS name and another's Service Connect name.
		{input{"pr1", "payment-http"}, input{"pr1", "payment"}, Names.DiscoveryService, Names.ServiceConnectPort},
	} {
		x := tc.refusedName(Names{Env: tc.refused.env}, tc.refused.svc)
		if y := tc.keptName(Names{Env: tc.kept.env}, tc.kept.svc); x != y {
			t.Fatalf("%+v and %+v: %q and %q do not show the old clash", tc.refused, tc.kept, x, y)
		}
		err := ValidateEnv(tc.refused.env, []string{tc.refused.svc})
		if err == nil || !strings.Contains(err.Error(), "hyphens are not allowed") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: got %v, want one line refusing the hyphen", tc.refused, err)
		}
		if err := ValidateEnv(tc.kept.env, []string{tc.kept.svc}); err != nil {
			t.Errorf("%+v: %v", tc.kept, err)
		}
	}
}
