package provision

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/state"
)

const (
	executionRolePolicyARN      = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
	infrastructureRolePolicyARN = "arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers"
)

// Role kinds of a service.
const (
	executionRole      = "execution-role"
	taskRole           = "task-role"
	infrastructureRole = "infrastructure-role" // ECS moves load balancer traffic with it (blue/green)
)

// roleStep owns one IAM role of a service: its trust policy, managed policies and one inline
// policy. The execution role (SPEC row 15) and the task role (row 16) differ only in those.
type roleStep struct {
	svc  catalog.Service
	kind string // executionRole, taskRole or infrastructureRole
}

func (s roleStep) Name() string { return s.svc.Name + "/" + s.kind }
func (s roleStep) DependsOn() []string {
	if s.kind == executionRole {
		return []string{"secret", "log-key"}
	}
	return nil
}
func (s roleStep) key() string { return s.Name() }

func (s roleStep) roleName(e *Env) string {
	switch s.kind {
	case executionRole:
		return e.Names.ExecutionRole(s.svc.Name)
	case infrastructureRole:
		return e.Names.InfrastructureRole(s.svc.Name)
	}
	return e.Names.TaskRole(s.svc.Name)
}

func (s roleStep) inlinePolicyName() string { return s.kind + "-access" }

func (s roleStep) trust() policyDocument {
	principal := "ecs-tasks.amazonaws.com"
	if s.kind == infrastructureRole {
		principal = "ecs.amazonaws.com"
	}
	return newPolicy(policyStatement{
		Effect: "Allow", Principal: &policyPrincipal{Service: principal}, Action: []string{"sts:AssumeRole"},
	})
}

// inlinePolicy is least privilege: only the environment's own secret, key, bucket and table.
// The infrastructure role has none: its AWS managed policy is all ECS needs.
func (s roleStep) inlinePolicy(e *Env) (policyDocument, error) {
	if s.kind == infrastructureRole {
		return policyDocument{}, nil
	}
	if s.kind == executionRole {
		secret, err := e.Require(keySecret)
		if err != nil {
			return policyDocument{}, err
		}
		keyARN, err := e.LogKeyARN()
		if err != nil {
			return policyDocument{}, err
		}
		return newPolicy(
			allow([]string{"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}, secret.ARN),
			allow([]string{"kms:Encrypt", "kms:Decrypt"}, keyARN),
		), nil
	}
	bucket := "arn:aws:s3:::" + e.Names.Bucket(s.svc.Name)
	table := "arn:aws:dynamodb:" + e.Region + ":" + e.Account + ":table/" + e.Names.Table(s.svc.Name)
	return newPolicy(
		allow([]string{"s3:GetObject", "s3:PutObject"}, bucket+"/*"),
		allow([]string{"s3:ListBucket"}, bucket),
		allow([]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:Scan"}, table),
	), nil
}

func (s roleStep) managedPolicies() []string {
	switch s.kind {
	case executionRole:
		return []string{executionRolePolicyARN}
	case infrastructureRole:
		return []string{infrastructureRolePolicyARN}
	}
	return nil
}

// rolePath groups an environment's roles, so one ListRoles call reads them all.
func rolePath(e *Env) string { return "/tapctl/" + e.Name + "/" }

func (s roleStep) find(ctx context.Context, e *Env) (*iamtypes.Role, error) {
	all, err := discover(e, "iam-roles", func() (map[string]iamtypes.Role, error) {
		found := map[string]iamtypes.Role{}
		p := iam.NewListRolesPaginator(e.AWS.IAM, &iam.ListRolesInput{PathPrefix: aws.String(rolePath(e))})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("listing IAM roles under %s: %w", rolePath(e), err)
			}
			for _, r := range page.Roles {
				found[aws.ToString(r.RoleName)] = r
			}
		}
		return found, nil
	})
	if err != nil {
		return nil, err
	}
	if r, ok := all[s.roleName(e)]; ok {
		return &r, nil
	}
	// Not under the path: missing, or made under another path; ask by name.
	out, err := e.AWS.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(s.roleName(e))})
	if cloud.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading IAM role %s: %w", s.roleName(e), err)
	}
	return out.Role, nil
}

func (s roleStep) Up(ctx context.Context, e *Env) error {
	name := s.roleName(e)
	inline, err := s.inlinePolicy(e)
	if err != nil {
		return err
	}
	role, err := s.find(ctx, e)
	if err != nil {
		return err
	}
	fresh := role == nil
	if fresh {
		tags := tagList(e, name, s.svc.Name, func(k, v string) iamtypes.Tag { return iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)} })
		out, err := e.AWS.IAM.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(s.trust().String()), Tags: tags, Path: aws.String(rolePath(e)),
			Description: aws.String(fmt.Sprintf("tapctl %s of %s in %s", s.kind, s.svc.Name, e.Name)),
		})
		if err != nil {
			return fmt.Errorf("creating IAM role %s: %w", name, err)
		}
		role = out.Role
		if err := e.Record(s.key(), state.Resource{ID: name, ARN: aws.ToString(role.Arn)}); err != nil {
			return err
		}
		e.Created("IAM role "+name, name)
	} else if err := e.Record(s.key(), state.Resource{ID: name, ARN: aws.ToString(role.Arn)}); err != nil {
		return err
	}

	changed := false
	if !fresh && !samePolicy(aws.ToString(role.AssumeRolePolicyDocument), s.trust().String()) {
		if _, err := e.AWS.IAM.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(name), PolicyDocument: aws.String(s.trust().String())}); err != nil {
			return fmt.Errorf("updating the trust policy of role %s: %w", name, err)
		}
		e.Updated("IAM role "+name, name, "trust policy")
		changed = true
	}
	if len(inline.Statement) > 0 {
		if c, err := s.ensureInline(ctx, e, name, inline.String(), fresh); err != nil {
			return err
		} else if c {
			changed = true
		}
	}
	if c, err := s.ensureManaged(ctx, e, name, fresh); err != nil {
		return err
	} else if c {
		changed = true
	}
	if !fresh && !changed {
		e.Unchanged("IAM role "+name, name)
	}
	return nil
}

func (s roleStep) ensureInline(ctx context.Context, e *Env, role, want string, fresh bool) (bool, error) {
	if !fresh {
		out, err := e.AWS.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(s.inlinePolicyName())})
		if err != nil && !cloud.IsNotFound(err) {
			return false, fmt.Errorf("reading policy %s of role %s: %w", s.inlinePolicyName(), role, err)
		}
		if err == nil && samePolicy(aws.ToString(out.PolicyDocument), want) {
			return false, nil
		}
	}
	if _, err := e.AWS.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(s.inlinePolicyName()), PolicyDocument: aws.String(want)}); err != nil {
		return false, fmt.Errorf("putting policy %s on role %s: %w", s.inlinePolicyName(), role, err)
	}
	if !fresh {
		e.Updated("IAM role "+role, role, "inline policy "+s.inlinePolicyName())
	}
	return true, nil
}

func (s roleStep) ensureManaged(ctx context.Context, e *Env, role string, fresh bool) (bool, error) {
	want := s.managedPolicies()
	if len(want) == 0 {
		return false, nil
	}
	attached := map[string]bool{}
	if !fresh {
		out, err := e.AWS.IAM.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role)})
		if err != nil {
			return false, fmt.Errorf("listing policies attached to role %s: %w", role, err)
		}
		for _, p := range out.AttachedPolicies {
			attached[aws.ToString(p.PolicyArn)] = true
		}
	}
	changed := false
	for _, arn := range want {
		if attached[arn] {
			continue
		}
		if _, err := e.AWS.IAM.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String(arn)}); err != nil {
			return changed, fmt.Errorf("attaching %s to role %s: %w", arn, role, err)
		}
		if !fresh {
			e.Updated("IAM role "+role, role, "attached "+arn)
		}
		changed = true
	}
	return changed, nil
}

func (s roleStep) Down(ctx context.Context, e *Env) error {
	name := s.roleName(e)
	role, err := s.find(ctx, e)
	if err != nil {
		return err
	}
	if role != nil {
		// IAM refuses to delete a role that still has policies (DeleteConflict).
		attached, err := e.AWS.IAM.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
		if err != nil && !cloud.IsNotFound(err) {
			return fmt.Errorf("listing policies attached to role %s: %w", name, err)
		}
		if attached != nil {
			for _, p := range attached.AttachedPolicies {
				if _, err := e.AWS.IAM.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(name), PolicyArn: p.PolicyArn}); err != nil && !cloud.IsNotFound(err) {
					return fmt.Errorf("detaching %s from role %s: %w", aws.ToString(p.PolicyArn), name, err)
				}
			}
		}
		inline, err := e.AWS.IAM.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
		if err != nil && !cloud.IsNotFound(err) {
			return fmt.Errorf("listing inline policies of role %s: %w", name, err)
		}
		if inline != nil {
			for _, p := range inline.PolicyNames {
				if _, err := e.AWS.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(p)}); err != nil && !cloud.IsNotFound(err) {
					return fmt.Errorf("deleting policy %s of role %s: %w", p, name, err)
				}
			}
		}
		if _, err := e.AWS.IAM.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(name)}); err != nil && !cloud.IsNotFound(err) {
			return fmt.Errorf("deleting IAM role %s: %w", name, err)
		}
		e.Deleted("IAM role "+name, name)
	}
	return e.Forget(s.key())
}

func (s roleStep) Inspect(ctx context.Context, e *Env) []Status {
	role, err := s.find(ctx, e)
	return []Status{{Resource: "IAM role " + s.roleName(e), StateID: e.StateID(s.key()),
		AWS: describeState(err, role != nil, func() string { return "present" })}}
}
