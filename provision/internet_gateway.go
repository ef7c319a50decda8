package provision

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

type internetGatewayStep struct{}

func (internetGatewayStep) Name() string        { return keyInternetGateway }
func (internetGatewayStep) DependsOn() []string { return []string{keyVPC} }

func findInternetGateway(ctx context.Context, e *Env) (*ec2types.InternetGateway, error) {
	return findEC2(e, ec2Find[ec2types.InternetGateway]{
		kind: "internet gateway", name: e.Names.InternetGateway(), stateKey: keyInternetGateway,
		describe: func(ids []string, filters []ec2types.Filter) ([]ec2types.InternetGateway, error) {
			out, err := e.AWS.EC2.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{InternetGatewayIds: ids, Filters: filters})
			return listed(out, err, func(o *ec2.DescribeInternetGatewaysOutput) []ec2types.InternetGateway { return o.InternetGateways })
		},
		tags: func(g *ec2types.InternetGateway) []ec2types.Tag { return g.Tags },
		id:   internetGatewayID,
	})
}

func internetGatewayID(g *ec2types.InternetGateway) string { return aws.ToString(g.InternetGatewayId) }

func (internetGatewayStep) Claim(ctx context.Context, e *Env) error {
	_, err := findInternetGateway(ctx, e)
	return err
}

func attachedTo(igw *ec2types.InternetGateway, vpcID string) bool {
	for _, a := range igw.Attachments {
		if aws.ToString(a.VpcId) == vpcID && a.State != ec2types.AttachmentStatusDetaching && a.State != ec2types.AttachmentStatusDetached {
			return true
		}
	}
	return false
}

func (internetGatewayStep) Up(ctx context.Context, e *Env) error {
	vpcID, err := e.VPCID()
	if err != nil {
		return err
	}
	name := e.Names.InternetGateway()
	igw, err := findInternetGateway(ctx, e)
	if err != nil {
		return err
	}
	if igw == nil {
		out, err := e.AWS.EC2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{
			TagSpecifications: e.ec2TagSpec(ec2types.ResourceTypeInternetGateway, name),
		})
		if err != nil {
			return fmt.Errorf("creating internet gateway %s: %w", name, err)
		}
		igw = out.InternetGateway
		if err := e.recordCreated(keyInternetGateway, "internet gateway "+name, state.Resource{ID: internetGatewayID(igw)}); err != nil {
			return err
		}
	} else if err := e.adoptEC2(ctx, keyInternetGateway, "internet gateway "+name, state.Resource{ID: internetGatewayID(igw)}, igw.Tags, name); err != nil {
		return err
	}
	id := aws.ToString(igw.InternetGatewayId)
	if attachedTo(igw, vpcID) {
		e.Unchanged("internet gateway "+name, id)
		return nil
	}
	err = cloud.Retry(ctx, "attaching internet gateway "+id, e.Timeouts.InternetGatewayAttach, cloud.RetryOn(cloud.PropagationCodes...), func(ctx context.Context) error {
		_, err := e.AWS.EC2.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: aws.String(id), VpcId: aws.String(vpcID)})
		return err
	})
	if err != nil {
		return fmt.Errorf("attaching internet gateway %s to VPC %s: %w", id, vpcID, err)
	}
	e.Updated("internet gateway "+name, id, "attached to "+vpcID)
	return nil
}

func (internetGatewayStep) Down(ctx context.Context, e *Env) error {
	igw, err := findInternetGateway(ctx, e)
	return removeFound(e, keyInternetGateway, "internet gateway "+e.Names.InternetGateway(), igw, err, internetGatewayID, func(id string) error {
		for _, a := range igw.Attachments {
			// Detaching fails with DependencyViolation while public addresses (NAT, ALB) remain mapped.
			err := cloud.Retry(ctx, "detaching internet gateway "+id, e.Timeouts.Dependencies, cloud.RetryOn(cloud.DependencyCodes...), func(ctx context.Context) error {
				_, err := e.AWS.EC2.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: aws.String(id), VpcId: a.VpcId})
				return err
			})
			if err != nil && !cloud.IsNotFound(err) && !cloud.HasCode(err, "Gateway.NotAttached") {
				return fmt.Errorf("detaching internet gateway %s from %s: %w", id, aws.ToString(a.VpcId), err)
			}
		}
		_, err := e.AWS.EC2.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: aws.String(id)})
		return goneIsDone("deleting internet gateway "+id, err)
	})
}

func (internetGatewayStep) Inspect(ctx context.Context, e *Env) []Status {
	igw, err := findInternetGateway(ctx, e)
	return []Status{{
		Resource: "internet gateway " + e.Names.InternetGateway(), StateID: e.StateID(keyInternetGateway),
		AWS: engine.Observe(err, igw != nil, func() string {
			if len(igw.Attachments) == 0 {
				return "detached"
			}
			return "attached to " + aws.ToString(igw.Attachments[0].VpcId)
		}),
	}}
}
