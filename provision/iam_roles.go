package provision

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

const (
	executionRolePolicy      = "service-role/AmazonECSTaskExecutionRolePolicy"
	infrastructureRolePolicy = "AmazonECSInfrastructureRolePolicyForLoadBalancers"
)

// roleStep owns one IAM role of a service: its trust policy, managed policies and one inline
// policy. The execution role (SPEC row 15) and the task role (row 16) differ only in those.
type roleStep struct {
	svc  catalog.Service
	kind string // kindExecutionRole, kindTaskRole or kindInfrastructureRole
}

func (s roleStep) Name() string { return serviceKey(s.svc.Name, s.kind) }
func (s roleStep) DependsOn() []string {
	if s.kind == kindExecutionRole {
		return []string{keySecret, keyLogKey}
	}
	return nil
}
func (s roleStep) key() string { return s.Name() }

func (s roleStep) roleName(e *Env) string {
	switch s.kind {
	case kindExecutionRole:
		return e.Names.ExecutionRole(s.svc.Name)
	case kindInfrastructureRole:
		return e.Names.InfrastructureRole(s.svc.Name)
	}
	return e.Names.TaskRole(s.svc.Name)
}

func (s roleStep) inlinePolicyName() string { return s.kind + "-access" }

func (s roleStep) trust() policyDocument {
	principal := "ecs-tasks.amazonaws.com"
	if s.kind == kindInfrastructureRole {
		principal = "ecs.amazonaws.com"
	}
	return newPolicy(policyStatement{
		Effect: "Allow", Principal: &policyPrincipal{Service: principal}, Action: []string{"sts:AssumeRole"},
	})
}

// inlinePolicy is least privilege: only the environment's own secret, key, bucket and table,
// and for the task role the ECS Exec channels (which name no resource). The infrastructure role
// has none: its AWS managed policy is all ECS needs.
func (s roleStep) inlinePolicy(e *Env) (policyDocument, error) {
	if s.kind == kindInfrastructureRole {
		return policyDocument{}, nil
	}
	if s.kind == kindExecutionRole {
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
	bucket := e.arnIn("s3", "", "", e.Names.Bucket(s.svc.Name))
	table := e.arn("dynamodb", "table/"+e.Names.Table(s.svc.Name))
	return newPolicy(
		allow([]string{"s3:GetObject", "s3:PutObject"}, bucket+"/*"),
		allow([]string{"s3:ListBucket"}, bucket),
		allow([]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:Scan"}, table),
		allow(ecsExecActions, "*"),
	), nil
}

// ecsExecActions are what the task role must allow for `aws ecs execute-command` to reach a
// container of a service with enableExecuteCommand (Amazon ECS developer guide, "Using Amazon
// ECS Exec", IAM permissions required for ECS Exec;
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html). They support no
// resource-level permissions, so Resource is "*" (Service Authorization Reference, Amazon
// Message Gateway Service: no resource types).
var ecsExecActions = []string{"ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"}

func (s roleStep) managedPolicies(e *Env) []string {
	switch s.kind {
	case kindExecutionRole:
		return []string{awsManagedPolicy(e, executionRolePolicy)}
	case kindInfrastructureRole:
		return []string{awsManagedPolicy(e, infrastructureRolePolicy)}
	}
	return nil
}

// awsManagedPolicy is the ARN of an AWS managed policy in the caller's partition.
func awsManagedPolicy(e *Env, name string) string {
	return e.arnIn("iam", "", "aws", "policy/"+name)
}

// rolePath groups an environment's roles (their ARNs show it; the roles are found by name).
func rolePath(e *Env) string { return "/tapctl/" + e.Name + "/" }

// roleDetails reads every role of the account with its tags, trust policy, inline policies
// and attached policies in one paginated call, once per run: per role, GetRole,
// ListRolePolicies, GetRolePolicy and ListAttachedRolePolicies would cost 36 calls for three
// services. (IAM: iam:GetAccountAuthorizationDetails.)
func roleDetails(ctx context.Context, e *Env) (map[string]iamtypes.RoleDetail, error) {
	return engine.Discover(e.Run, "iam-roles", func() (map[string]iamtypes.RoleDetail, error) {
		found := map[string]iamtypes.RoleDetail{}
		p := iam.NewGetAccountAuthorizationDetailsPaginator(e.AWS.IAM, &iam.GetAccountAuthorizationDetailsInput{
			Filter: []iamtypes.EntityType{iamtypes.EntityTypeRole},
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("reading the account's IAM roles: %w", err)
			}
			for _, r := range page.RoleDetailList {
				found[aws.ToString(r.RoleName)] = r
			}
		}
		return found, nil
	})
}

// find returns the role with its policies, proven the environment's.
func (s roleStep) find(ctx context.Context, e *Env) (*iamtypes.RoleDetail, error) {
	all, err := roleDetails(ctx, e)
	if err != nil {
		return nil, err
	}
	name := s.roleName(e)
	return engine.FindOwned(e.Run, engine.Lookup[iamtypes.RoleDetail]{
		Kind: "IAM role", Name: name,
		ByName: func() (*iamtypes.RoleDetail, error) {
			if r, ok := all[name]; ok {
				return &r, nil
			}
			return nil, nil
		},
		Tags: func(r *iamtypes.RoleDetail) (map[string]string, error) {
			return TagMap(r.Tags, func(t iamtypes.Tag) (*string, *string) { return t.Key, t.Value }), nil
		},
		ID: func(r *iamtypes.RoleDetail) string { return aws.ToString(r.Arn) },
	})
}

func (s roleStep) Claim(ctx context.Context, e *Env) error {
	_, err := s.find(ctx, e)
	return err
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
		if role, err = s.create(ctx, e, name); err != nil {
			return err
		}
	} else if err := e.Record(s.key(), state.Resource{ID: name, ARN: aws.ToString(role.Arn)}); err != nil {
		return err
	}
	plan := planRole(*role, roleSpec{trust: s.trust(), inlineName: s.inlinePolicyName(), inline: inline, managed: s.managedPolicies(e)}, fresh)
	report := changeReport{e: e, resource: "IAM role " + name, id: name, fresh: fresh}
	if err := s.apply(ctx, e, plan, &report); err != nil {
		return err
	}
	report.done()
	return nil
}

func (s roleStep) create(ctx context.Context, e *Env, name string) (*iamtypes.RoleDetail, error) {
	tags := tagList(e, name, s.svc.Name, func(k, v string) iamtypes.Tag { return iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)} })
	out, err := e.AWS.IAM.CreateRole(ctx, &iam.CreateRoleInput{
		RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(s.trust().String()), Tags: tags, Path: aws.String(rolePath(e)),
		Description: aws.String(fmt.Sprintf("tapctl %s of %s in %s", s.kind, s.svc.Name, e.Name)),
	})
	if err != nil {
		return nil, fmt.Errorf("creating IAM role %s: %w", name, err)
	}
	role := &iamtypes.RoleDetail{RoleName: out.Role.RoleName, Arn: out.Role.Arn, AssumeRolePolicyDocument: out.Role.AssumeRolePolicyDocument}
	return role, recordCreated(e, s.key(), state.Resource{ID: name, ARN: aws.ToString(role.Arn)}, "IAM role "+name, name)
}

// roleSpec is what a role should hold: its trust policy, its one inline policy (none when
// inline has no statement) and its managed policies.
type roleSpec struct {
	trust      policyDocument
	inlineName string
	inline     policyDocument
	managed    []string
}

// rolePlan is the calls that bring a role back to its spec, in the order they are made.
type rolePlan struct {
	trust        *iam.UpdateAssumeRolePolicyInput
	deleteInline []*iam.DeleteRolePolicyInput
	putInline    *iam.PutRolePolicyInput
	detach       []*iam.DetachRolePolicyInput
	attach       []*iam.AttachRolePolicyInput
}

// planRole compares a role as IAM reports it with its spec. A policy added or attached by hand
// widens the role, so it is drift: it is deleted or detached. A role just made (fresh) has the
// trust policy it was created with.
func planRole(role iamtypes.RoleDetail, want roleSpec, fresh bool) rolePlan {
	name := role.RoleName
	var plan rolePlan
	if !fresh && !samePolicy(aws.ToString(role.AssumeRolePolicyDocument), want.trust.String()) {
		plan.trust = &iam.UpdateAssumeRolePolicyInput{RoleName: name, PolicyDocument: aws.String(want.trust.String())}
	}
	current := false
	for _, p := range role.RolePolicyList {
		if aws.ToString(p.PolicyName) == want.inlineName && len(want.inline.Statement) > 0 {
			current = samePolicy(aws.ToString(p.PolicyDocument), want.inline.String())
			continue
		}
		plan.deleteInline = append(plan.deleteInline, &iam.DeleteRolePolicyInput{RoleName: name, PolicyName: p.PolicyName})
	}
	if !current && len(want.inline.Statement) > 0 {
		plan.putInline = &iam.PutRolePolicyInput{RoleName: name, PolicyName: aws.String(want.inlineName), PolicyDocument: aws.String(want.inline.String())}
	}
	attached := map[string]bool{}
	for _, a := range role.AttachedManagedPolicies {
		attached[aws.ToString(a.PolicyArn)] = true
	}
	for _, arn := range slices.Sorted(maps.Keys(attached)) {
		if !slices.Contains(want.managed, arn) {
			plan.detach = append(plan.detach, &iam.DetachRolePolicyInput{RoleName: name, PolicyArn: aws.String(arn)})
		}
	}
	for _, arn := range want.managed {
		if !attached[arn] {
			plan.attach = append(plan.attach, &iam.AttachRolePolicyInput{RoleName: name, PolicyArn: aws.String(arn)})
		}
	}
	return plan
}

// apply makes the plan's calls and reports each correction.
func (s roleStep) apply(ctx context.Context, e *Env, plan rolePlan, report *changeReport) error {
	if in := plan.trust; in != nil {
		if _, err := e.AWS.IAM.UpdateAssumeRolePolicy(ctx, in); err != nil {
			return fmt.Errorf("updating the trust policy of role %s: %w", aws.ToString(in.RoleName), err)
		}
		report.corrected("trust policy")
	}
	for _, in := range plan.deleteInline {
		if _, err := e.AWS.IAM.DeleteRolePolicy(ctx, in); err != nil && !cloud.IsNotFound(err) {
			return fmt.Errorf("deleting inline policy %s (not tapctl's) of role %s: %w", aws.ToString(in.PolicyName), aws.ToString(in.RoleName), err)
		}
		report.corrected("removed inline policy " + aws.ToString(in.PolicyName))
	}
	if in := plan.putInline; in != nil {
		if _, err := e.AWS.IAM.PutRolePolicy(ctx, in); err != nil {
			return fmt.Errorf("putting policy %s on role %s: %w", aws.ToString(in.PolicyName), aws.ToString(in.RoleName), err)
		}
		report.corrected("inline policy " + aws.ToString(in.PolicyName))
	}
	for _, in := range plan.detach {
		if _, err := e.AWS.IAM.DetachRolePolicy(ctx, in); err != nil && !cloud.IsNotFound(err) {
			return fmt.Errorf("detaching %s (not tapctl's) from role %s: %w", aws.ToString(in.PolicyArn), aws.ToString(in.RoleName), err)
		}
		report.corrected("detached " + aws.ToString(in.PolicyArn))
	}
	for _, in := range plan.attach {
		if _, err := e.AWS.IAM.AttachRolePolicy(ctx, in); err != nil {
			return fmt.Errorf("attaching %s to role %s: %w", aws.ToString(in.PolicyArn), aws.ToString(in.RoleName), err)
		}
		report.corrected("attached " + aws.ToString(in.PolicyArn))
	}
	return nil
}

func (s roleStep) Down(ctx context.Context, e *Env) error {
	name := s.roleName(e)
	role, err := s.find(ctx, e)
	if err != nil {
		return err
	}
	if role != nil {
		// IAM refuses to delete a role that still has policies (DeleteConflict). Listed afresh,
		// not from the run's first read: a policy attached a moment ago may not show there yet.
		// Both lists, then every detach and delete, go side by side.
		var attached *iam.ListAttachedRolePoliciesOutput
		var inline *iam.ListRolePoliciesOutput
		if err := eachAtOnce(2, func(i int) (err error) {
			if i == 0 {
				if attached, err = e.AWS.IAM.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)}); err != nil && !cloud.IsNotFound(err) {
					return fmt.Errorf("listing policies attached to role %s: %w", name, err)
				}
				return nil
			}
			if inline, err = e.AWS.IAM.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name)}); err != nil && !cloud.IsNotFound(err) {
				return fmt.Errorf("listing inline policies of role %s: %w", name, err)
			}
			return nil
		}); err != nil {
			return err
		}
		var detach []iamtypes.AttachedPolicy
		var remove []string
		if attached != nil {
			detach = attached.AttachedPolicies
		}
		if inline != nil {
			remove = inline.PolicyNames
		}
		if err := eachAtOnce(len(detach)+len(remove), func(i int) error {
			if i < len(detach) {
				arn := detach[i].PolicyArn
				if _, err := e.AWS.IAM.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(name), PolicyArn: arn}); err != nil && !cloud.IsNotFound(err) {
					return fmt.Errorf("detaching %s from role %s: %w", aws.ToString(arn), name, err)
				}
				return nil
			}
			p := remove[i-len(detach)]
			if _, err := e.AWS.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(p)}); err != nil && !cloud.IsNotFound(err) {
				return fmt.Errorf("deleting policy %s of role %s: %w", p, name, err)
			}
			return nil
		}); err != nil {
			return err
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
		AWS: engine.Observe(err, role != nil, func() string { return "present" })}}
}
