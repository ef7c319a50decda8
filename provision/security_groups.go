package provision

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// securityGroupStep owns one security group and exactly its rules: the load balancer's (SPEC
// row 12) or the tasks' (row 14, one rule from the load balancer per port of the environment's
// catalog, e.Catalog), or the interface endpoints' (HTTPS from the private subnets, where every
// task runs: an overlay's tasks, with their own group, reach the base's endpoints too). Rules
// added by hand are revoked; missing ones are authorized. The endpoints' group exists while
// network.interfaceEndpoints lists any (wanted); an unwanted one is left to networkRetireStep,
// which runs once the endpoints that use it are gone.
type securityGroupStep struct {
	kind   string // "alb", "task" or "endpoint"
	wanted bool   // "endpoint" only: some interface endpoint is wanted
}

func (s securityGroupStep) Name() string {
	switch s.kind {
	case "alb":
		return keyALBSecurityGroup
	case "endpoint":
		return keyEndpointSecurityGroup
	}
	return keyTaskSecurityGroup
}
func (s securityGroupStep) DependsOn() []string {
	if s.kind == "task" {
		return []string{keyVPC, keyALBSecurityGroup}
	}
	return []string{keyVPC}
}
func (s securityGroupStep) key() string { return s.Name() }

func (s securityGroupStep) groupName(e *Env) string {
	switch s.kind {
	case "task":
		return e.Names.TaskSecurityGroup()
	case "endpoint":
		return e.Names.EndpointSecurityGroup()
	}
	return e.Names.ALBSecurityGroup()
}

// sgRule is one rule in a comparable form.
type sgRule struct {
	egress    bool
	protocol  string
	from, to  int32
	cidr      string
	peerGroup string
	// overlay: an overlay environment's rule on its base's load balancer group, which the base
	// keeps (it is the overlay's to revoke). AWS holds it in the rule's description.
	overlay string
}

// overlayRuleNote is how an overlay's rule on its base's group is described.
const overlayRuleNote = "tapctl overlay "

func (r sgRule) String() string {
	dir := "ingress"
	if r.egress {
		dir = "egress"
	}
	peer := r.cidr + r.peerGroup
	if r.protocol == "-1" {
		return fmt.Sprintf("%s all from %s", dir, peer)
	}
	return fmt.Sprintf("%s %s %d-%d from %s", dir, r.protocol, r.from, r.to, peer)
}

func (r sgRule) permission() ec2types.IpPermission {
	p := ec2types.IpPermission{IpProtocol: aws.String(r.protocol)}
	if r.protocol != "-1" {
		p.FromPort, p.ToPort = aws.Int32(r.from), aws.Int32(r.to)
	}
	if r.cidr != "" {
		p.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(r.cidr)}}
		if r.overlay != "" {
			p.IpRanges[0].Description = aws.String(overlayRuleNote + r.overlay)
		}
	} else {
		p.UserIdGroupPairs = []ec2types.UserIdGroupPair{{GroupId: aws.String(r.peerGroup)}}
	}
	return p
}

func (s securityGroupStep) desiredRules(e *Env, selfID string) ([]sgRule, error) {
	allEgress := sgRule{egress: true, protocol: "-1", cidr: "0.0.0.0/0"}
	if s.kind == "endpoint" {
		// HTTPS, the only port an AWS service endpoint answers on, from each private subnet.
		var rules []sgRule
		for az := range AZCount {
			rules = append(rules, sgRule{protocol: "tcp", from: 443, to: 443, cidr: subnetSpec{Private, az}.cidr()})
		}
		return append(rules, allEgress), nil
	}
	if s.kind == "alb" {
		return []sgRule{
			{protocol: "tcp", from: 80, to: 80, cidr: "0.0.0.0/0"},
			{protocol: "tcp", from: 443, to: 443, cidr: "0.0.0.0/0"},
			allEgress,
		}, nil
	}
	alb, err := e.Require(keyALBSecurityGroup)
	if err != nil {
		return nil, err
	}
	// The load balancer sends traffic and health checks to each service's container port, so the
	// tasks admit it on exactly the catalog's ports: a port no service uses any more is revoked.
	var rules []sgRule
	for _, port := range servicePorts(e.Catalog) {
		rules = append(rules, sgRule{protocol: "tcp", from: port, to: port, peerGroup: alb.ID})
	}
	return append(rules, sgRule{protocol: "-1", peerGroup: selfID}, allEgress), nil
}

// servicePorts are the distinct container ports of the services, in ascending order.
func servicePorts(services []catalog.Service) []int32 {
	var ports []int32
	for _, svc := range services {
		if !slices.Contains(ports, svc.Port) {
			ports = append(ports, svc.Port)
		}
	}
	slices.Sort(ports)
	return ports
}

func flattenRules(g *ec2types.SecurityGroup) []sgRule {
	var out []sgRule
	add := func(perms []ec2types.IpPermission, egress bool) {
		for _, p := range perms {
			base := sgRule{egress: egress, protocol: aws.ToString(p.IpProtocol)}
			if base.protocol != "-1" {
				base.from, base.to = aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort)
			}
			for _, r := range p.IpRanges {
				rule := base
				rule.cidr = aws.ToString(r.CidrIp)
				if env, ok := strings.CutPrefix(aws.ToString(r.Description), overlayRuleNote); ok {
					rule.overlay = env
				}
				out = append(out, rule)
			}
			for _, pair := range p.UserIdGroupPairs {
				rule := base
				rule.peerGroup = aws.ToString(pair.GroupId)
				out = append(out, rule)
			}
			for _, r := range p.Ipv6Ranges {
				rule := base
				rule.cidr = aws.ToString(r.CidrIpv6)
				out = append(out, rule)
			}
		}
	}
	add(g.IpPermissions, false)
	add(g.IpPermissionsEgress, true)
	return out
}

// securityGroups reads both of the environment's security groups in one call, once per run:
// in the VPC, by name (a group's name is unique in its VPC and cannot change, so this finds
// the recorded one too). Each must be the environment's.
func securityGroups(ctx context.Context, e *Env) (map[string]*ec2types.SecurityGroup, error) {
	vpc, err := findVPC(ctx, e)
	if err != nil || vpc == nil {
		return nil, err
	}
	vpcID := aws.ToString(vpc.VpcId)
	return engine.Discover(e.Run, "security-groups/"+vpcID, func() (map[string]*ec2types.SecurityGroup, error) {
		// An overlay's load balancer group is its base's, found as the base's (overlay.go).
		names := []string{e.Names.ALBSecurityGroup(), e.Names.TaskSecurityGroup(), e.Names.EndpointSecurityGroup()}
		if e.base != nil {
			names = names[1:2]
		}
		out, err := e.AWS.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: append(inVPC(vpcID),
			ec2types.Filter{Name: aws.String("group-name"), Values: names},
		)})
		if err != nil {
			return nil, fmt.Errorf("looking up the security groups of %s: %w", vpcID, err)
		}
		// A group's name is its key: the steps find theirs by it.
		return findEachAmong(e, out.SecurityGroups, names, func(name string) ec2Among[ec2types.SecurityGroup] {
			return ec2Among[ec2types.SecurityGroup]{
				kind: "security group", label: name,
				named: []func(*ec2types.SecurityGroup) bool{func(g *ec2types.SecurityGroup) bool { return aws.ToString(g.GroupName) == name }},
				tags:  func(g *ec2types.SecurityGroup) []ec2types.Tag { return g.Tags },
				id:    func(g *ec2types.SecurityGroup) string { return aws.ToString(g.GroupId) },
			}
		})
	})
}

func (s securityGroupStep) find(ctx context.Context, e *Env) (*ec2types.SecurityGroup, error) {
	all, err := securityGroups(ctx, e)
	if err != nil {
		return nil, err
	}
	return all[s.groupName(e)], nil
}

func (s securityGroupStep) Claim(ctx context.Context, e *Env) error {
	_, err := s.find(ctx, e)
	return err
}

func (s securityGroupStep) Up(ctx context.Context, e *Env) error {
	if s.kind == "endpoint" && !s.wanted {
		return nil // networkRetireStep deletes it once no endpoint uses it
	}
	vpcID, err := e.VPCID()
	if err != nil {
		return err
	}
	name := s.groupName(e)
	g, err := s.find(ctx, e)
	if err != nil {
		return err
	}
	fresh := g == nil
	if fresh {
		out, err := e.AWS.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
			GroupName: aws.String(name), VpcId: aws.String(vpcID),
			Description:       aws.String(fmt.Sprintf("tapctl %s security group of %s", s.kind, e.Name)),
			TagSpecifications: e.ec2TagSpec(ec2types.ResourceTypeSecurityGroup, name),
		})
		if err != nil {
			return fmt.Errorf("creating security group %s in %s: %w", name, vpcID, err)
		}
		if err := e.recordCreated(s.key(), "security group "+name, state.Resource{ID: aws.ToString(out.GroupId)}); err != nil {
			return err
		}
		// A new group holds AWS's default egress rule (all traffic to 0.0.0.0/0), nothing else.
		g = &ec2types.SecurityGroup{GroupId: out.GroupId, IpPermissionsEgress: []ec2types.IpPermission{{
			IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}},
		}}}
	} else if err := e.adoptEC2(ctx, s.key(), "security group "+name, state.Resource{ID: aws.ToString(g.GroupId)}, g.Tags, name); err != nil {
		return err
	}
	id := aws.ToString(g.GroupId)
	want, err := s.desiredRules(e, id)
	if err != nil {
		return err
	}
	have := flattenRules(g)
	if s.kind == "alb" {
		// The rules of overlays that hold their listener on this load balancer are theirs; a
		// rule of an overlay whose listener is gone is revoked like any other rule not wanted.
		inUse, err := overlayPorts(ctx, e)
		if err != nil {
			return err
		}
		have = withoutOverlayRules(have, inUse)
	}
	changed, err := s.reconcileRules(ctx, e, id, have, want, fresh)
	if err != nil {
		return err
	}
	if !fresh && !changed {
		e.Unchanged("security group "+name, id)
	}
	return nil
}

// withoutOverlayRules drops the rules that overlay environments hold on their base's load
// balancer group while they use it (inUse: overlay -> its listener's port, overlayPorts): they
// are the overlays' to revoke (overlay_listener.go). Any other rule stays, to be corrected.
func withoutOverlayRules(rules []sgRule, inUse map[string]int32) []sgRule {
	var kept []sgRule
	for _, r := range rules {
		if port, ok := inUse[r.overlay]; !ok || r.overlay == "" || port != r.from || r.to != r.from {
			kept = append(kept, r)
		}
	}
	return kept
}

// ruleChanges compares the rules the group holds with the wanted ones: the missing ones to
// authorize (in wanted order) and the extra ones to revoke (in held order).
func ruleChanges(have, want []sgRule) (authorize, revoke []sgRule) {
	for _, r := range want {
		if !slices.Contains(have, r) {
			authorize = append(authorize, r)
		}
	}
	for _, r := range have {
		if !slices.Contains(want, r) {
			revoke = append(revoke, r)
		}
	}
	return authorize, revoke
}

func (s securityGroupStep) reconcileRules(ctx context.Context, e *Env, id string, have, want []sgRule, fresh bool) (bool, error) {
	authorize, revoke := ruleChanges(have, want)
	var changes []string
	for _, r := range authorize {
		if err := authorizeRule(ctx, e, id, r); err != nil {
			return false, err
		}
		changes = append(changes, "+"+r.String())
	}
	for _, r := range revoke {
		if err := revokeRule(ctx, e, id, r); err != nil {
			return false, err
		}
		changes = append(changes, "-"+r.String())
	}
	if len(changes) > 0 && !fresh {
		sort.Strings(changes)
		e.Updated("security group "+s.groupName(e), id, strings.Join(changes, ", "))
	}
	return len(changes) > 0, nil
}

// authorizeRule adds one rule; one already there (a lost answer's resend) is done.
func authorizeRule(ctx context.Context, e *Env, groupID string, r sgRule) error {
	perms := []ec2types.IpPermission{r.permission()}
	var err error
	if r.egress {
		_, err = e.AWS.EC2.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(groupID), IpPermissions: perms})
	} else {
		_, err = e.AWS.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(groupID), IpPermissions: perms})
	}
	if err != nil && !cloud.HasCode(err, "InvalidPermission.Duplicate") {
		return fmt.Errorf("authorizing %s on security group %s: %w", r, groupID, err)
	}
	return nil
}

// revokeRule removes one rule; one already gone is done.
func revokeRule(ctx context.Context, e *Env, groupID string, r sgRule) error {
	perms := []ec2types.IpPermission{r.permission()}
	var err error
	if r.egress {
		_, err = e.AWS.EC2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(groupID), IpPermissions: perms})
	} else {
		_, err = e.AWS.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(groupID), IpPermissions: perms})
	}
	if err != nil && !cloud.HasCode(err, "InvalidPermission.NotFound") {
		return fmt.Errorf("revoking %s on security group %s: %w", r, groupID, err)
	}
	return nil
}

func (s securityGroupStep) Down(ctx context.Context, e *Env) error {
	g, err := s.find(ctx, e)
	return removeFound(e, s.key(), "security group "+s.groupName(e), g, err, func(g *ec2types.SecurityGroup) string { return aws.ToString(g.GroupId) }, func(id string) error {
		return deleteWhenFree(ctx, e, "security group", id, func(ctx context.Context) error {
			_, err := e.AWS.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
			return err
		})
	})
}

func (s securityGroupStep) Inspect(ctx context.Context, e *Env) []Status {
	if s.kind == "endpoint" && !s.wanted {
		return nil // networkRetireStep shows it while it exists
	}
	g, err := s.find(ctx, e)
	return []Status{{Resource: "security group " + s.groupName(e), StateID: e.StateID(s.key()),
		AWS: engine.Observe(err, g != nil, func() string { return fmt.Sprintf("%d rules", len(flattenRules(g))) })}}
}
