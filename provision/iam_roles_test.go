package provision

import (
	"maps"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

func TestPlanRole(t *testing.T) {
	trust := newPolicy(policyStatement{Effect: "Allow", Principal: &policyPrincipal{Service: "ecs-tasks.amazonaws.com"}, Action: []string{"sts:AssumeRole"}})
	otherTrust := newPolicy(policyStatement{Effect: "Allow", Principal: &policyPrincipal{AWS: "arn:aws:iam::999999999999:root"}, Action: []string{"sts:AssumeRole"}})
	inline := newPolicy(allow([]string{"s3:GetObject"}, "arn:aws:s3:::b/*"))
	const managed, handAttached = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy", "arn:aws:iam::aws:policy/AdministratorAccess"
	spec := roleSpec{trust: trust, inlineName: "task-role-access", inline: inline, managed: []string{managed}}
	noInline := roleSpec{trust: trust, inlineName: "infrastructure-role-access", managed: []string{managed}}

	role := func(trust policyDocument, inline map[string]string, attached ...string) iamtypes.RoleDetail {
		r := iamtypes.RoleDetail{RoleName: aws.String("payment-task-role-pr1"), AssumeRolePolicyDocument: aws.String(trust.String())}
		for _, name := range slices.Sorted(maps.Keys(inline)) {
			r.RolePolicyList = append(r.RolePolicyList, iamtypes.PolicyDetail{PolicyName: aws.String(name), PolicyDocument: aws.String(inline[name])})
		}
		for _, arn := range attached {
			r.AttachedManagedPolicies = append(r.AttachedManagedPolicies, iamtypes.AttachedPolicy{PolicyArn: aws.String(arn)})
		}
		return r
	}
	type want struct {
		trust        bool
		deleteInline []string
		putInline    bool
		detach       []string
		attach       []string
	}
	cases := []struct {
		name  string
		role  iamtypes.RoleDetail
		spec  roleSpec
		fresh bool
		want  want
	}{
		{"as the spec wants", role(trust, map[string]string{"task-role-access": inline.String()}, managed), spec, false, want{}},
		{"IAM's URL-encoded answer is the same policy", role(trust, map[string]string{"task-role-access": "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Ab%2F%2A%22%7D%5D%7D"}, managed), spec, false, want{}},
		{"trust policy changed by hand", role(otherTrust, map[string]string{"task-role-access": inline.String()}, managed), spec, false, want{trust: true}},
		{"a fresh role has its trust policy", role(otherTrust, nil), spec, true, want{putInline: true, attach: []string{managed}}},
		{"inline policy changed by hand", role(trust, map[string]string{"task-role-access": `{"Version":"2012-10-17","Statement":[]}`}, managed), spec, false, want{putInline: true}},
		{"inline policy added by hand", role(trust, map[string]string{"task-role-access": inline.String(), "extra": inline.String()}, managed), spec, false, want{deleteInline: []string{"extra"}}},
		{"inline policy missing", role(trust, nil, managed), spec, false, want{putInline: true}},
		{"a role with no inline policy keeps none", role(trust, map[string]string{"infrastructure-role-access": inline.String()}, managed), noInline, false, want{deleteInline: []string{"infrastructure-role-access"}}},
		{"managed policy attached by hand", role(trust, map[string]string{"task-role-access": inline.String()}, handAttached, managed), spec, false, want{detach: []string{handAttached}}},
		{"managed policy detached by hand", role(trust, map[string]string{"task-role-access": inline.String()}), spec, false, want{attach: []string{managed}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan := planRole(c.role, c.spec, c.fresh)
			var got want
			got.trust = plan.trust != nil
			for _, in := range plan.deleteInline {
				got.deleteInline = append(got.deleteInline, aws.ToString(in.PolicyName))
			}
			got.putInline = plan.putInline != nil
			for _, in := range plan.detach {
				got.detach = append(got.detach, aws.ToString(in.PolicyArn))
			}
			for _, in := range plan.attach {
				got.attach = append(got.attach, aws.ToString(in.PolicyArn))
			}
			if got.trust != c.want.trust || got.putInline != c.want.putInline || !slices.Equal(got.deleteInline, c.want.deleteInline) ||
				!slices.Equal(got.detach, c.want.detach) || !slices.Equal(got.attach, c.want.attach) {
				t.Errorf("plan = %+v, want %+v", got, c.want)
			}
			if plan.putInline != nil && !samePolicy(aws.ToString(plan.putInline.PolicyDocument), inline.String()) {
				t.Errorf("inline policy put = %s, want %s", aws.ToString(plan.putInline.PolicyDocument), inline.String())
			}
		})
	}
}
