package provision

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/state"
)

// The task group admits the load balancer once per distinct port of the catalog, in port order,
// besides all traffic from itself and all egress.
func TestTaskGroupRulesFollowTheCatalogsPorts(t *testing.T) {
	e := NewEnv("pr1")
	st, err := state.Open(t.TempDir(), e.Name)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put("alb-security-group", state.Resource{ID: "sg-alb"}); err != nil {
		t.Fatal(err)
	}
	e.State = st
	api, admin := catalog.WithDefaults("api", 13), catalog.WithDefaults("admin", 14)
	api.Port, admin.Port = 8080, 8080
	e.Catalog = append(catalog.Default(), api, admin)

	rules, err := securityGroupStep{kind: "task"}.desiredRules(e, "sg-task")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules {
		got = append(got, r.String())
	}
	want := []string{"ingress tcp 80-80 from sg-alb", "ingress tcp 8080-8080 from sg-alb", "ingress all from sg-task", "egress all from 0.0.0.0/0"}
	if !slices.Equal(got, want) {
		t.Errorf("task group rules = %v, want %v", got, want)
	}
}

// perm is one IpPermission as DescribeSecurityGroups answers it.
func perm(protocol string, from, to int32, cidrs []string, groups ...string) ec2types.IpPermission {
	p := ec2types.IpPermission{IpProtocol: aws.String(protocol)}
	if protocol != "-1" {
		p.FromPort, p.ToPort = aws.Int32(from), aws.Int32(to)
	}
	for _, c := range cidrs {
		p.IpRanges = append(p.IpRanges, ec2types.IpRange{CidrIp: aws.String(c)})
	}
	for _, g := range groups {
		p.UserIdGroupPairs = append(p.UserIdGroupPairs, ec2types.UserIdGroupPair{GroupId: aws.String(g)})
	}
	return p
}

// What the group holds (as AWS describes it) against what the step wants, per kind and catalog:
// the rules to authorize and to revoke.
func TestSecurityGroupRuleChanges(t *testing.T) {
	anywhere := []string{"0.0.0.0/0"}
	allEgress := []ec2types.IpPermission{perm("-1", 0, 0, anywhere)}
	albIngress := []ec2types.IpPermission{perm("tcp", 80, 80, anywhere), perm("tcp", 443, 443, anywhere)}
	cases := []struct {
		name          string
		kind          string
		ports         []int32 // the catalog's ports, for the task group
		held          ec2types.SecurityGroup
		wantAuthorize []string
		wantRevoke    []string
	}{
		{name: "alb converged", kind: "alb",
			held: ec2types.SecurityGroup{IpPermissions: albIngress, IpPermissionsEgress: allEgress}},
		{name: "alb fresh: AWS's default egress only", kind: "alb",
			held:          ec2types.SecurityGroup{IpPermissionsEgress: allEgress},
			wantAuthorize: []string{"ingress tcp 80-80 from 0.0.0.0/0", "ingress tcp 443-443 from 0.0.0.0/0"}},
		{name: "alb: a rule added by hand, in one permission with a wanted one", kind: "alb",
			held: ec2types.SecurityGroup{
				IpPermissions:       []ec2types.IpPermission{perm("tcp", 80, 80, []string{"0.0.0.0/0", "10.1.0.0/16"}), perm("tcp", 443, 443, anywhere)},
				IpPermissionsEgress: allEgress,
			},
			wantRevoke: []string{"ingress tcp 80-80 from 10.1.0.0/16"}},
		{name: "alb: an IPv6 range is not the spec's", kind: "alb",
			held: ec2types.SecurityGroup{
				IpPermissions:       append(albIngress, ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}}),
				IpPermissionsEgress: allEgress,
			},
			wantRevoke: []string{"ingress tcp 22-22 from ::/0"}},
		{name: "alb: egress removed by hand", kind: "alb",
			held:          ec2types.SecurityGroup{IpPermissions: albIngress},
			wantAuthorize: []string{"egress all from 0.0.0.0/0"}},
		{name: "task converged", kind: "task", ports: []int32{80, 8080},
			held: ec2types.SecurityGroup{
				IpPermissions:       []ec2types.IpPermission{perm("tcp", 80, 80, nil, "sg-alb"), perm("tcp", 8080, 8080, nil, "sg-alb"), perm("-1", 0, 0, nil, "sg-task")},
				IpPermissionsEgress: allEgress,
			}},
		{name: "task: a port no service uses any more is revoked, a new one authorized", kind: "task", ports: []int32{80, 9090},
			held: ec2types.SecurityGroup{
				IpPermissions:       []ec2types.IpPermission{perm("tcp", 80, 80, nil, "sg-alb"), perm("tcp", 8080, 8080, nil, "sg-alb"), perm("-1", 0, 0, nil, "sg-task")},
				IpPermissionsEgress: allEgress,
			},
			wantAuthorize: []string{"ingress tcp 9090-9090 from sg-alb"},
			wantRevoke:    []string{"ingress tcp 8080-8080 from sg-alb"}},
		{name: "task: the port open to the world instead of the load balancer", kind: "task", ports: []int32{80},
			held: ec2types.SecurityGroup{
				IpPermissions:       []ec2types.IpPermission{perm("tcp", 80, 80, anywhere), perm("-1", 0, 0, nil, "sg-task")},
				IpPermissionsEgress: allEgress,
			},
			wantAuthorize: []string{"ingress tcp 80-80 from sg-alb"},
			wantRevoke:    []string{"ingress tcp 80-80 from 0.0.0.0/0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := netTestEnv(t, map[string]string{keyALBSecurityGroup: "sg-alb"})
			for i, port := range c.ports {
				svc := catalog.WithDefaults(fmt.Sprintf("svc%d", i), int32(i+1))
				svc.Port = port
				e.Catalog = append(e.Catalog, svc)
			}
			want, err := securityGroupStep{kind: c.kind}.desiredRules(e, "sg-task")
			if err != nil {
				t.Fatal(err)
			}
			authorize, revoke := ruleChanges(flattenRules(&c.held), want)
			if got := ruleStrings(authorize); !slices.Equal(got, c.wantAuthorize) {
				t.Errorf("authorize %v, want %v", got, c.wantAuthorize)
			}
			if got := ruleStrings(revoke); !slices.Equal(got, c.wantRevoke) {
				t.Errorf("revoke %v, want %v", got, c.wantRevoke)
			}
		})
	}
}

func ruleStrings(rules []sgRule) []string {
	var out []string
	for _, r := range rules {
		out = append(out, r.String())
	}
	return out
}
