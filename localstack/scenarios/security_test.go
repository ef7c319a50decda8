package scenarios

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/naming"
)

// Wildcards AWS requires, and nothing else, in what tapctl writes:
//   - In a KMS key policy the Resource is always "*": it means "this key" (AWS KMS developer
//     guide, "Key policies": a key policy applies to its own key only).
//   - The key policy's statement for the account root grants "kms:*": SPEC row 7 ("account root
//     full access"), which is AWS's default key policy statement; without it IAM policies cannot
//     grant use of the key, and KMS refuses policies that lock the account out.
//   - Attached AWS managed policies are AWS's documents, not tapctl's: only the two below may be
//     attached (AmazonECSTaskExecutionRolePolicy has ecr:GetAuthorizationToken on "*", which
//     that action requires).
//   - The IAM statements of requiredWildcardResources, which every task role must hold.
//
// Partial wildcards that SPEC names (kms:ReEncrypt*, kms:GenerateDataKey* for CloudWatch Logs,
// bucket/* for the objects of one bucket) are not "*" nor "service:*" and are allowed.
var awsManagedPoliciesAllowed = map[string]bool{
	"arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy":     true,
	"arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers": true,
}

// ecsExecStatement is the task role's ECS Exec statement: every ECS service runs with
// enableExecuteCommand, and `aws ecs execute-command` opens its session through these Session
// Manager channels, which the task role must allow (Amazon ECS developer guide, "Using Amazon
// ECS Exec", IAM permissions required for ECS Exec:
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html).
const ecsExecStatement = "ssmmessages:CreateControlChannel ssmmessages:CreateDataChannel ssmmessages:OpenControlChannel ssmmessages:OpenDataChannel"

// requiredWildcardResources are the IAM statements (their actions, space-separated) that must
// name Resource "*", each with the reason AWS gives; every task role holds each of them.
var requiredWildcardResources = map[string]string{
	ecsExecStatement: `the ssmmessages actions support no resource-level permissions (Service Authorization Reference, Amazon Message Gateway Service: no resource types), so "*" is the only Resource they take`,
}

// wildcardResourceAllowed reports whether a statement's "*" resource is one AWS requires.
func wildcardResourceAllowed(actions []string) bool {
	_, ok := requiredWildcardResources[strings.Join(actions, " ")]
	return ok
}

// statement is one policy statement; Action and Resource may be a string or a list.
type statement struct {
	Sid       string
	Effect    string
	Principal any
	Action    stringOrList
	Resource  stringOrList
}

type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*s = []string{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(s))
}

func parsePolicy(t *testing.T, what, doc string) []statement {
	t.Helper()
	if decoded, err := url.QueryUnescape(doc); err == nil {
		doc = decoded // IAM returns documents URL-encoded
	}
	var p struct{ Statement []statement }
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatalf("policy of %s does not parse: %v\n%s", what, err, doc)
	}
	return p.Statement
}

func wildcardAction(a string) bool { return a == "*" || strings.HasSuffix(a, ":*") }

// assertNoWildcards fails for any "*" or "service:*" action and any "*" resource.
func assertNoWildcards(t *testing.T, what string, statements []statement) {
	t.Helper()
	for _, st := range statements {
		for _, a := range st.Action {
			if wildcardAction(a) {
				t.Errorf("%s grants action %s", what, a)
			}
		}
		for _, r := range st.Resource {
			if r == "*" && !wildcardResourceAllowed(st.Action) {
				t.Errorf("%s grants %v on resource *", what, st.Action)
			}
		}
	}
}

func TestSecurity(t *testing.T) {
	env, dir := newEnvName(t), t.TempDir()
	downAtCleanup(t, dir, env)
	tapctl(t, dir, "up", "--env", env, "--no-wait").mustSucceed(t)
	ctx, c, n := context.Background(), clients(t), naming.Names{Env: env}

	t.Run("IAM and key policies grant no wildcard", func(t *testing.T) {
		roles, err := c.IAM.ListRoles(ctx, &iam.ListRolesInput{PathPrefix: aws.String("/tapctl/" + env + "/")})
		must(t, err)
		if len(roles.Roles) != 9 {
			t.Errorf("%d roles under /tapctl/%s/, want 3 per service", len(roles.Roles), env)
		}
		for _, role := range roles.Roles {
			name := aws.ToString(role.RoleName)
			assertNoWildcards(t, "trust policy of "+name, parsePolicy(t, name, aws.ToString(role.AssumeRolePolicyDocument)))
			inline, err := c.IAM.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: role.RoleName})
			must(t, err)
			for _, pn := range inline.PolicyNames {
				doc, err := c.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: role.RoleName, PolicyName: aws.String(pn)})
				must(t, err)
				assertNoWildcards(t, "inline policy "+pn+" of "+name, parsePolicy(t, pn, aws.ToString(doc.PolicyDocument)))
			}
			attached, err := c.IAM.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: role.RoleName})
			must(t, err)
			for _, ap := range attached.AttachedPolicies {
				arn := aws.ToString(ap.PolicyArn)
				if strings.HasPrefix(arn, "arn:aws:iam::aws:policy/") {
					if !awsManagedPoliciesAllowed[arn] {
						t.Errorf("%s has AWS managed policy %s attached", name, arn)
					}
					continue
				}
				pol, err := c.IAM.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: ap.PolicyArn})
				must(t, err)
				v, err := c.IAM.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: ap.PolicyArn, VersionId: pol.Policy.DefaultVersionId})
				must(t, err)
				assertNoWildcards(t, "policy "+arn+" of "+name, parsePolicy(t, arn, aws.ToString(v.PolicyVersion.Document)))
			}
		}

		kp, err := c.KMS.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(n.KeyAlias()), PolicyName: aws.String("default")})
		if err != nil { // moto wants the key ID, not the alias
			key, derr := c.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(n.KeyAlias())})
			must(t, derr)
			kp, err = c.KMS.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: key.KeyMetadata.KeyId, PolicyName: aws.String("default")})
			must(t, err)
		}
		for _, st := range parsePolicy(t, "key", aws.ToString(kp.Policy)) {
			root := strings.HasSuffix(principalAWS(st.Principal), ":root")
			for _, a := range st.Action {
				if wildcardAction(a) && !(root && a == "kms:*") {
					t.Errorf("key policy statement %s grants action %s", st.Sid, a)
				}
			}
		}
	})

	t.Run("every task role holds the statements AWS requires on resource *", func(t *testing.T) {
		for _, svc := range catalog.Default() {
			assertHoldsRequiredWildcards(t, n.TaskRole(svc.Name))
		}
	})

	t.Run("security groups hold exactly SPEC rows 12 and 14", func(t *testing.T) {
		assertSecurityGroupRules(t, dir, env, catalog.Default())
	})
}

// principalAWS is the AWS principal of a statement ("" for a service principal).
func principalAWS(p any) string {
	if m, ok := p.(map[string]any); ok {
		s, _ := m["AWS"].(string)
		return s
	}
	return ""
}

// assertHoldsRequiredWildcards checks that the role's inline policies hold each statement of
// requiredWildcardResources, on Resource "*" alone.
func assertHoldsRequiredWildcards(t *testing.T, role string) {
	t.Helper()
	ctx, c := context.Background(), clients(t).IAM
	inline, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(role)})
	must(t, err)
	held := map[string]bool{}
	for _, pn := range inline.PolicyNames {
		doc, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(pn)})
		must(t, err)
		for _, st := range parsePolicy(t, pn, aws.ToString(doc.PolicyDocument)) {
			if st.Effect == "Allow" && len(st.Resource) == 1 && st.Resource[0] == "*" {
				held[strings.Join(st.Action, " ")] = true
			}
		}
	}
	for actions, why := range requiredWildcardResources {
		if !held[actions] {
			t.Errorf("%s does not allow %s on resource * (%s)", role, actions, why)
		}
	}
}
