package provision

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// albStep owns the internet-facing application load balancer (SPEC row 13). It does not wait for
// the load balancer to become active: AWS takes its listener, rules and the services' target
// groups while it provisions, and only serving needs it active (serving.go waits for that).
type albStep struct{}

func (albStep) Name() string { return keyALB }
func (albStep) DependsOn() []string {
	return []string{"subnets", keyInternetGateway, keyALBSecurityGroup}
}

func (e *Env) elbTags(name, service string) []elbtypes.Tag {
	return tagList(e, name, service, func(k, v string) elbtypes.Tag { return elbtypes.Tag{Key: aws.String(k), Value: aws.String(v)} })
}

// findALB looks the load balancer up by the state file's ARN, then by its unique name, once per
// run; it must run before any create, since a repeated CreateLoadBalancer makes a second one
// on some emulators.
func findALB(ctx context.Context, e *Env) (*elbtypes.LoadBalancer, error) {
	if e.base != nil { // an overlay's is its base's
		return findALB(ctx, e.base)
	}
	return engine.Discover(e.Run, "alb", func() (*elbtypes.LoadBalancer, error) {
		describe := func(in *elbv2.DescribeLoadBalancersInput, what string) (*elbtypes.LoadBalancer, error) {
			out, err := e.AWS.ELB.DescribeLoadBalancers(ctx, in)
			if cloud.IsNotFound(err) || err == nil && len(out.LoadBalancers) == 0 {
				return nil, nil
			}
			if err != nil {
				return nil, fmt.Errorf("describing load balancer %s: %w", what, err)
			}
			return &out.LoadBalancers[0], nil
		}
		return engine.FindOwned(e.Run, engine.Lookup[elbtypes.LoadBalancer]{
			Kind: "load balancer", Name: e.Names.ALB(), StateID: e.StateID(keyALB),
			ByID: func(arn string) (*elbtypes.LoadBalancer, error) {
				return describe(&elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}}, arn)
			},
			ByName: func() (*elbtypes.LoadBalancer, error) {
				return describe(&elbv2.DescribeLoadBalancersInput{Names: []string{e.Names.ALB()}}, e.Names.ALB())
			},
			Tags: func(lb *elbtypes.LoadBalancer) (map[string]string, error) {
				all, err := elbTags(ctx, e, aws.ToString(lb.LoadBalancerArn))
				return all[aws.ToString(lb.LoadBalancerArn)], err
			},
			ID: func(lb *elbtypes.LoadBalancer) string { return aws.ToString(lb.LoadBalancerArn) },
		})
	})
}

// elbTags reads the tags of load balancers, listeners, rules and target groups: from the
// tagging index, else 20 ARNs per DescribeTags call.
func elbTags(ctx context.Context, e *Env, arns ...string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	var unindexed []string
	for _, arn := range arns {
		if tags, ok := taggedIndex(ctx, e)[arn]; ok {
			out[arn] = tags
		} else {
			unindexed = append(unindexed, arn)
		}
	}
	for _, batch := range chunks(unindexed, 20) {
		got, err := e.AWS.ELB.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: batch})
		if err != nil {
			return nil, fmt.Errorf("reading the tags of %v: %w", batch, err)
		}
		for _, d := range got.TagDescriptions {
			out[aws.ToString(d.ResourceArn)] = TagMap(d.Tags, func(t elbtypes.Tag) (*string, *string) { return t.Key, t.Value })
		}
	}
	return out, nil
}

func (albStep) Claim(ctx context.Context, e *Env) error {
	_, err := findALB(ctx, e)
	return err
}

func albRecord(lb *elbtypes.LoadBalancer) state.Resource {
	return state.Resource{ID: aws.ToString(lb.LoadBalancerArn), ARN: aws.ToString(lb.LoadBalancerArn), Attrs: map[string]string{attrDNS: aws.ToString(lb.DNSName)}}
}

func (albStep) Up(ctx context.Context, e *Env) error {
	subnets, err := e.SubnetIDs(Public)
	if err != nil {
		return err
	}
	sg, err := e.Require(keyALBSecurityGroup)
	if err != nil {
		return err
	}
	name := e.Names.ALB()
	lb, err := findALB(ctx, e)
	if err != nil {
		return err
	}
	if lb == nil {
		out, err := e.AWS.ELB.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{
			Name: aws.String(name), Type: elbtypes.LoadBalancerTypeEnumApplication,
			Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing, IpAddressType: elbtypes.IpAddressTypeIpv4,
			Subnets: subnets, SecurityGroups: []string{sg.ID}, Tags: e.elbTags(name, ""),
		})
		if err != nil {
			return fmt.Errorf("creating load balancer %s: %w", name, err)
		}
		lb = &out.LoadBalancers[0]
		if err := e.recordCreated(keyALB, "load balancer "+name, albRecord(lb)); err != nil {
			return err
		}
	} else {
		if err := e.Record(keyALB, albRecord(lb)); err != nil {
			return err
		}
		if err := correctALB(ctx, e, lb, subnets, sg.ID); err != nil {
			return err
		}
	}
	return nil
}

// albCorrections are what an existing load balancer needs to be the SPEC's.
type albCorrections struct {
	securityGroups bool // SetSecurityGroups: only the environment's ALB group
	subnets        bool // SetSubnets: exactly the public subnets
}

// albDrift compares the load balancer AWS holds with the SPEC's; its scheme cannot change, so
// another one is an error.
func albDrift(lb *elbtypes.LoadBalancer, name string, subnets []string, sgID string) (albCorrections, error) {
	if lb.Scheme != elbtypes.LoadBalancerSchemeEnumInternetFacing {
		return albCorrections{}, fmt.Errorf("load balancer %s is %s, not internet-facing; the scheme cannot change: delete it to recreate it", name, lb.Scheme)
	}
	var have []string
	for _, az := range lb.AvailabilityZones {
		have = append(have, aws.ToString(az.SubnetId))
	}
	return albCorrections{securityGroups: !sameSet(lb.SecurityGroups, []string{sgID}), subnets: !sameSet(have, subnets)}, nil
}

// albActive says whether the load balancer serves; provisioning -> active takes minutes on AWS.
func albActive(lb *elbtypes.LoadBalancer) bool {
	return lb.State != nil && lb.State.Code == elbtypes.LoadBalancerStateEnumActive
}

func correctALB(ctx context.Context, e *Env, lb *elbtypes.LoadBalancer, subnets []string, sgID string) error {
	arn, name := aws.ToString(lb.LoadBalancerArn), e.Names.ALB()
	fix, err := albDrift(lb, name, subnets, sgID)
	if err != nil {
		return err
	}
	if fix.securityGroups {
		if _, err := e.AWS.ELB.SetSecurityGroups(ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: aws.String(arn), SecurityGroups: []string{sgID}}); err != nil {
			return fmt.Errorf("setting the security groups of load balancer %s: %w", name, err)
		}
		e.Updated("load balancer "+name, arn, "security groups")
	}
	if fix.subnets {
		if _, err := e.AWS.ELB.SetSubnets(ctx, &elbv2.SetSubnetsInput{LoadBalancerArn: aws.String(arn), Subnets: subnets}); err != nil {
			return fmt.Errorf("setting the subnets of load balancer %s: %w", name, err)
		}
		e.Updated("load balancer "+name, arn, "subnets")
	}
	if fix == (albCorrections{}) {
		e.Unchanged("load balancer "+name, arn)
	}
	return nil
}

func (albStep) Down(ctx context.Context, e *Env) error {
	lb, err := findALB(ctx, e)
	return removeFound(e, keyALB, "load balancer "+e.Names.ALB(), lb, err, func(lb *elbtypes.LoadBalancer) string { return aws.ToString(lb.LoadBalancerArn) }, func(arn string) error {
		_, err := e.AWS.ELB.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(arn)})
		if err := goneIsDone("deleting load balancer "+arn, err); err != nil {
			return err
		}
		w := elbv2.NewLoadBalancersDeletedWaiter(e.AWS.ELB, func(o *elbv2.LoadBalancersDeletedWaiterOptions) {
			o.MinDelay, o.MaxDelay = pollMinDelay, pollMaxDelay
		})
		err = w.Wait(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}}, e.Timeouts.LoadBalancer)
		if err := goneIsDone("waiting for load balancer "+arn+" to be deleted", err); err != nil {
			return err
		}
		// Its network interfaces outlive it for a while and hold the public subnets and its
		// security group (DependencyViolation): waited out here, by reads, rather than by
		// deletes refused over and over (as terraform-provider-aws's aws_lb does).
		return waitGone(ctx, e, "the network interfaces of load balancer "+e.Names.ALB(), func() (bool, error) {
			out, err := e.AWS.EC2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{
				Filters: []ec2types.Filter{{Name: aws.String("description"), Values: []string{albInterfaceDescription(arn)}}},
			})
			if err != nil {
				return false, fmt.Errorf("describing the network interfaces of load balancer %s: %w", arn, err)
			}
			return len(out.NetworkInterfaces) == 0, nil
		})
	})
}

// albInterfaceDescription is the description AWS gives a load balancer's network interfaces:
// "ELB app/NAME/ID" for arn:…:loadbalancer/app/NAME/ID.
func albInterfaceDescription(arn string) string {
	_, id, _ := strings.Cut(arn, ":loadbalancer/")
	return "ELB " + id
}

func (albStep) Inspect(ctx context.Context, e *Env) []Status {
	lb, err := findALB(ctx, e)
	return []Status{{Resource: "load balancer " + e.Names.ALB(), StateID: e.StateID(keyALB),
		AWS: engine.Observe(err, lb != nil, func() string {
			if lb.State == nil {
				return "unknown"
			}
			return string(lb.State.Code) + " " + aws.ToString(lb.DNSName)
		})}}
}
