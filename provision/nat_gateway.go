package provision

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/state"
)

const (
	keyElasticIP  = "elastic-ip"
	keyNATGateway = "nat-gateway"
)

// natGatewayStep owns the single NAT gateway (in the first public subnet) and its Elastic IP:
// the two live and die together, and the address can only be released once the gateway is gone.
type natGatewayStep struct{}

func (natGatewayStep) Name() string        { return "nat-gateway" }
func (natGatewayStep) DependsOn() []string { return []string{"subnets", "internet-gateway"} }

func findElasticIP(ctx context.Context, e *Env) (*ec2types.Address, error) {
	return discover(e, "elastic-ip", func() (*ec2types.Address, error) {
		return findOwned(e, lookup[ec2types.Address]{
			kind: "Elastic IP", name: e.Names.ElasticIP(), stateID: e.StateID(keyElasticIP),
			byID: func(id string) (*ec2types.Address, error) {
				out, err := e.AWS.EC2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: []string{id}})
				if cloud.IsNotFound(err) || err == nil && len(out.Addresses) != 1 {
					return nil, nil
				}
				if err != nil {
					return nil, fmt.Errorf("describing Elastic IP %s: %w", id, err)
				}
				return &out.Addresses[0], nil
			},
			byTags: func() ([]*ec2types.Address, error) {
				out, err := e.AWS.EC2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: e.ec2OwnedFilters(e.Names.ElasticIP())})
				if err != nil {
					return nil, fmt.Errorf("looking up Elastic IP %s by tags: %w", e.Names.ElasticIP(), err)
				}
				return pointers(out.Addresses), nil
			},
			tags: func(a *ec2types.Address) (map[string]string, error) { return ec2TagMap(a.Tags), nil },
			id:   func(a *ec2types.Address) string { return aws.ToString(a.AllocationId) },
		})
	})
}

// liveNAT is a NAT gateway that is, or is becoming, usable; deleted and failed ones are history.
func liveNAT(n ec2types.NatGateway) bool {
	return n.State == ec2types.NatGatewayStatePending || n.State == ec2types.NatGatewayStateAvailable
}

func findNATGateway(ctx context.Context, e *Env) (*ec2types.NatGateway, error) {
	return discover(e, "nat-gateway", func() (*ec2types.NatGateway, error) {
		return findOwned(e, lookup[ec2types.NatGateway]{
			kind: "NAT gateway", name: e.Names.NATGateway(), stateID: e.StateID(keyNATGateway),
			byID: func(id string) (*ec2types.NatGateway, error) {
				out, err := e.AWS.EC2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{id}})
				if cloud.IsNotFound(err) || err == nil && (len(out.NatGateways) != 1 || !liveNAT(out.NatGateways[0])) {
					return nil, nil
				}
				if err != nil {
					return nil, fmt.Errorf("describing NAT gateway %s: %w", id, err)
				}
				return &out.NatGateways[0], nil
			},
			byTags: func() ([]*ec2types.NatGateway, error) {
				filters := append(e.ec2OwnedFilters(e.Names.NATGateway()), ec2types.Filter{Name: aws.String("state"), Values: []string{"pending", "available"}})
				out, err := e.AWS.EC2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{Filter: filters})
				if err != nil {
					return nil, fmt.Errorf("looking up NAT gateway %s by tags: %w", e.Names.NATGateway(), err)
				}
				// Checked here too: some implementations (moto) ignore these filters.
				var live []*ec2types.NatGateway
				for i, n := range out.NatGateways {
					if liveNAT(n) && ec2TagValue(n.Tags, TagName) == e.Names.NATGateway() {
						live = append(live, &out.NatGateways[i])
					}
				}
				return live, nil
			},
			tags: func(n *ec2types.NatGateway) (map[string]string, error) { return ec2TagMap(n.Tags), nil },
			id:   func(n *ec2types.NatGateway) string { return aws.ToString(n.NatGatewayId) },
		})
	})
}

func (natGatewayStep) Claim(ctx context.Context, e *Env) error {
	if _, err := findElasticIP(ctx, e); err != nil {
		return err
	}
	_, err := findNATGateway(ctx, e)
	return err
}

// NATGatewayID is the environment's NAT gateway, for the private route.
func (e *Env) NATGatewayID() (string, error) {
	id := e.StateID(keyNATGateway)
	if id == "" {
		return "", fmt.Errorf("the NAT gateway of %s is not in the state file; run up", e.Name)
	}
	return id, nil
}

func (natGatewayStep) Up(ctx context.Context, e *Env) error {
	publicSubnets, err := e.SubnetIDs(Public)
	if err != nil {
		return err
	}
	nat, err := findNATGateway(ctx, e)
	if err != nil {
		return err
	}
	if nat != nil {
		id := aws.ToString(nat.NatGatewayId)
		allocationID := ""
		if len(nat.NatGatewayAddresses) > 0 {
			allocationID = aws.ToString(nat.NatGatewayAddresses[0].AllocationId)
		}
		if allocationID != "" {
			if err := e.Record(keyElasticIP, state.Resource{ID: allocationID}); err != nil {
				return err
			}
		}
		if err := e.Record(keyNATGateway, state.Resource{ID: id, Attrs: map[string]string{"subnet": aws.ToString(nat.SubnetId)}}); err != nil {
			return err
		}
		if err := e.ensureEC2Tags(ctx, "NAT gateway "+e.Names.NATGateway(), id, nat.Tags, e.Names.NATGateway(), ""); err != nil {
			return err
		}
		if nat.State == ec2types.NatGatewayStatePending {
			return waitNATAvailable(ctx, e, id)
		}
		e.Unchanged("NAT gateway "+e.Names.NATGateway(), id)
		return nil
	}

	allocationID, err := ensureElasticIP(ctx, e)
	if err != nil {
		return err
	}
	out, err := e.AWS.EC2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{
		SubnetId:     aws.String(publicSubnets[0]),
		AllocationId: aws.String(allocationID),
		// The allocation is new after every teardown, so the token never matches an old, deleted gateway.
		ClientToken:       aws.String("tapctl-nat-" + allocationID),
		ConnectivityType:  ec2types.ConnectivityTypePublic,
		TagSpecifications: e.ec2TagSpec(ec2types.ResourceTypeNatgateway, e.Names.NATGateway(), ""),
	})
	if err != nil {
		return fmt.Errorf("creating NAT gateway in %s: %w", publicSubnets[0], err)
	}
	id := aws.ToString(out.NatGateway.NatGatewayId)
	if err := e.Record(keyNATGateway, state.Resource{ID: id, Attrs: map[string]string{"subnet": publicSubnets[0]}}); err != nil {
		return err
	}
	e.Created("NAT gateway "+e.Names.NATGateway(), id)
	if out.NatGateway.State == ec2types.NatGatewayStateAvailable {
		return nil
	}
	return waitNATAvailable(ctx, e, id)
}

// ensureElasticIP finds or allocates the NAT gateway's address.
func ensureElasticIP(ctx context.Context, e *Env) (string, error) {
	addr, err := findElasticIP(ctx, e)
	if err != nil {
		return "", err
	}
	if addr != nil {
		id := aws.ToString(addr.AllocationId)
		return id, e.Record(keyElasticIP, state.Resource{ID: id})
	}
	out, err := e.AWS.EC2.AllocateAddress(ctx, &ec2.AllocateAddressInput{
		Domain:            ec2types.DomainTypeVpc,
		TagSpecifications: e.ec2TagSpec(ec2types.ResourceTypeElasticIp, e.Names.ElasticIP(), ""),
	})
	if err != nil {
		return "", fmt.Errorf("allocating Elastic IP %s: %w", e.Names.ElasticIP(), err)
	}
	id := aws.ToString(out.AllocationId)
	if err := e.Record(keyElasticIP, state.Resource{ID: id}); err != nil {
		return "", err
	}
	e.Created("Elastic IP "+e.Names.ElasticIP(), id)
	return id, nil
}

// waitNATAvailable waits with the SDK's waiter: pending -> available takes minutes on AWS.
func waitNATAvailable(ctx context.Context, e *Env, id string) error {
	e.Log.Info().Str("id", id).Dur("timeout", e.Timeouts.NATGateway).Msg("waiting for NAT gateway to become available")
	w := ec2.NewNatGatewayAvailableWaiter(e.AWS.EC2, func(o *ec2.NatGatewayAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = pollMinDelay, pollMaxDelay
	})
	if err := w.Wait(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{id}}, e.Timeouts.NATGateway); err != nil {
		return fmt.Errorf("waiting for NAT gateway %s to become available: %w", id, err)
	}
	return nil
}

func (natGatewayStep) Down(ctx context.Context, e *Env) error {
	nat, err := findNATGateway(ctx, e)
	if err != nil {
		return err
	}
	if nat != nil {
		id := aws.ToString(nat.NatGatewayId)
		if _, err := e.AWS.EC2.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: aws.String(id)}); err != nil && !cloud.IsNotFound(err) {
			return fmt.Errorf("deleting NAT gateway %s: %w", id, err)
		}
		// The address stays associated until the gateway is deleted, not merely deleting.
		w := ec2.NewNatGatewayDeletedWaiter(e.AWS.EC2, func(o *ec2.NatGatewayDeletedWaiterOptions) {
			o.MinDelay, o.MaxDelay = pollMinDelay, pollMaxDelay
		})
		e.Log.Info().Str("id", id).Msg("waiting for NAT gateway to be deleted")
		if err := w.Wait(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{id}}, e.Timeouts.NATGateway); err != nil && !cloud.IsNotFound(err) {
			return fmt.Errorf("waiting for NAT gateway %s to be deleted: %w", id, err)
		}
		e.Deleted("NAT gateway "+e.Names.NATGateway(), id)
	}
	if err := e.Forget(keyNATGateway); err != nil {
		return err
	}
	addr, err := findElasticIP(ctx, e)
	if err != nil {
		return err
	}
	if addr != nil {
		id := aws.ToString(addr.AllocationId)
		err := cloud.Retry(ctx, "releasing Elastic IP "+id, e.Timeouts.Dependencies, cloud.RetryOn("InvalidIPAddress.InUse", "AuthFailure"), func(ctx context.Context) error {
			_, err := e.AWS.EC2.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: aws.String(id)})
			return err
		})
		if err != nil && !cloud.IsNotFound(err) {
			return fmt.Errorf("releasing Elastic IP %s: %w", id, err)
		}
		e.Deleted("Elastic IP "+e.Names.ElasticIP(), id)
	}
	return e.Forget(keyElasticIP)
}

func (natGatewayStep) Inspect(ctx context.Context, e *Env) []Status {
	addr, aerr := findElasticIP(ctx, e)
	nat, nerr := findNATGateway(ctx, e)
	return []Status{
		{Resource: "Elastic IP " + e.Names.ElasticIP(), StateID: e.StateID(keyElasticIP),
			AWS: describeState(aerr, addr != nil, func() string { return "allocated " + aws.ToString(addr.PublicIp) })},
		{Resource: "NAT gateway " + e.Names.NATGateway(), StateID: e.StateID(keyNATGateway),
			AWS: describeState(nerr, nat != nil, func() string { return string(nat.State) })},
	}
}
