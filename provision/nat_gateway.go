package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// natGatewayStep owns the NAT gateway of one AZ (in that AZ's public subnet) and its Elastic
// IP: the two live and die together, and the address can only be released once the gateway is
// gone. The first AZ's is every environment's; the other two exist when network.natGateways is
// 3 (wanted). An unwanted one's Up does nothing: the private routes leave it first, then
// networkRetireStep deletes it (network_retire.go). Its Down deletes whatever is found.
type natGatewayStep struct {
	az     int
	wanted bool
}

func (s natGatewayStep) Name() string      { return natKey(s.az) }
func (natGatewayStep) DependsOn() []string { return []string{"subnets", keyInternetGateway} }

func (s natGatewayStep) natName(e *Env) string  { return e.Names.NATGatewayIn(s.az) }
func (s natGatewayStep) addrName(e *Env) string { return e.Names.ElasticIPIn(s.az) }

func (s natGatewayStep) findElasticIP(ctx context.Context, e *Env) (*ec2types.Address, error) {
	all, err := elasticIPs(ctx, e)
	return all[s.az], err
}

// elasticIPs reads the region's Elastic IPs in one call, once per run, and picks the
// environment's NAT gateway addresses out of it, by AZ: by the state file's ID, then by Name
// tag; each must be the environment's. All of them, not only the tagged ones, so that a
// recorded address whose tags were removed is refused rather than missed.
func elasticIPs(ctx context.Context, e *Env) (map[int]*ec2types.Address, error) {
	return engine.Discover(e.Run, "elastic-ips", func() (map[int]*ec2types.Address, error) {
		out, err := e.AWS.EC2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{
			Filters: []ec2types.Filter{{Name: aws.String("domain"), Values: []string{string(ec2types.DomainTypeVpc)}}},
		})
		if err != nil {
			return nil, fmt.Errorf("describing the Elastic IPs of region %s: %w", e.Region, err)
		}
		tags := func(a *ec2types.Address) []ec2types.Tag { return a.Tags }
		return findEachAmong(e, out.Addresses, azs(), func(az int) ec2Among[ec2types.Address] {
			name := e.Names.ElasticIPIn(az)
			return ec2Among[ec2types.Address]{kind: "Elastic IP", label: name, stateKey: elasticIPKey(az),
				named: []func(*ec2types.Address) bool{nameTagIs(name, tags)}, tags: tags, id: allocationID}
		})
	})
}

// azs are the AZ indexes, 0 to AZCount-1.
func azs() []int {
	out := make([]int, AZCount)
	for i := range out {
		out[i] = i
	}
	return out
}

func allocationID(a *ec2types.Address) string { return aws.ToString(a.AllocationId) }

// liveNAT is a NAT gateway that is, or is becoming, usable; deleted and failed ones are history.
func liveNAT(n ec2types.NatGateway) bool {
	return n.State == ec2types.NatGatewayStatePending || n.State == ec2types.NatGatewayStateAvailable
}

// findNATGateway finds the environment's live gateway of the AZ: a failed or deleted one is
// history (formerNATGateways).
func (s natGatewayStep) findNATGateway(ctx context.Context, e *Env) (*ec2types.NatGateway, error) {
	all, err := natGateways(ctx, e)
	return all[s.az], err
}

// natGateways reads the live NAT gateways of the environment's VPC in one call, once per run,
// and picks the environment's out of them, by AZ: by the state file's ID, then by Name tag;
// each must be the environment's. No VPC, no gateway.
func natGateways(ctx context.Context, e *Env) (map[int]*ec2types.NatGateway, error) {
	vpc, err := findVPC(ctx, e)
	if err != nil || vpc == nil {
		return nil, err
	}
	vpcID := aws.ToString(vpc.VpcId)
	return ownedInVPC(e, "nat-gateways", "NAT gateways", vpcID, func() ([]ec2types.NatGateway, error) {
		var live []ec2types.NatGateway
		p := ec2.NewDescribeNatGatewaysPaginator(e.AWS.EC2, &ec2.DescribeNatGatewaysInput{Filter: []ec2types.Filter{
			{Name: aws.String("vpc-id"), Values: []string{vpcID}},
			{Name: aws.String("state"), Values: []string{"pending", "available"}},
		}})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			// Checked here too: some implementations (moto) ignore filters.
			for _, n := range page.NatGateways {
				if liveNAT(n) && aws.ToString(n.VpcId) == vpcID {
					live = append(live, n)
				}
			}
		}
		return live, nil
	}, func(e *Env, items []ec2types.NatGateway) (map[int]*ec2types.NatGateway, error) {
		tags := func(n *ec2types.NatGateway) []ec2types.Tag { return n.Tags }
		return findEachAmong(e, items, azs(), func(az int) ec2Among[ec2types.NatGateway] {
			name := e.Names.NATGatewayIn(az)
			return ec2Among[ec2types.NatGateway]{kind: "NAT gateway", label: name, stateKey: natKey(az),
				named: []func(*ec2types.NatGateway) bool{nameTagIs(name, tags)}, tags: tags,
				id: func(n *ec2types.NatGateway) string { return aws.ToString(n.NatGatewayId) }}
		})
	})
}

func (s natGatewayStep) Claim(ctx context.Context, e *Env) error {
	if _, err := s.findElasticIP(ctx, e); err != nil {
		return err
	}
	_, err := s.findNATGateway(ctx, e)
	return err
}

// NATGatewayID is the environment's NAT gateway in an AZ, for that AZ's private route.
func (e *Env) NATGatewayID(az int) (string, error) {
	return e.recordedID(natKey(az), fmt.Sprintf("the NAT gateway of AZ %d", az+1))
}

func (s natGatewayStep) Up(ctx context.Context, e *Env) error {
	if !s.wanted {
		return nil // networkRetireStep deletes it, once no route points at it
	}
	publicSubnets, err := e.SubnetIDs(Public)
	if err != nil {
		return err
	}
	nat, err := s.findNATGateway(ctx, e)
	if err != nil {
		return err
	}
	if nat != nil {
		// A pending gateway that fails meanwhile is replaced like one this run made.
		err := s.adoptNATGateway(ctx, e, nat)
		failed := (*natFailedError)(nil)
		if !errors.As(err, &failed) {
			return err
		}
		e.Log.Warn().Str("id", failed.id).Msgf("%v; replacing it", failed)
	}
	allocationID, err := s.ensureElasticIP(ctx, e)
	if err != nil {
		return err
	}
	return s.createNATGateway(ctx, e, publicSubnets[s.az], allocationID)
}

// adoptNATGateway records a live gateway and its address, and waits for a pending one.
func (s natGatewayStep) adoptNATGateway(ctx context.Context, e *Env, nat *ec2types.NatGateway) error {
	id := aws.ToString(nat.NatGatewayId)
	if len(nat.NatGatewayAddresses) > 0 && aws.ToString(nat.NatGatewayAddresses[0].AllocationId) != "" {
		if err := e.Record(elasticIPKey(s.az), state.Resource{ID: aws.ToString(nat.NatGatewayAddresses[0].AllocationId)}); err != nil {
			return err
		}
	}
	record := state.Resource{ID: id, Attrs: map[string]string{attrSubnet: aws.ToString(nat.SubnetId)}}
	if err := e.adoptEC2(ctx, natKey(s.az), "NAT gateway "+s.natName(e), record, nat.Tags, s.natName(e)); err != nil {
		return err
	}
	if nat.State == ec2types.NatGatewayStatePending {
		return waitNATAvailable(ctx, e, id)
	}
	e.Unchanged("NAT gateway "+s.natName(e), id)
	return nil
}

// natAttempts bounds the gateways one run creates: AWS's answer to a failed gateway is another
// one (VPC user guide, "Troubleshoot NAT gateways": "you can try to create a NAT gateway again").
const natAttempts = 3

// createNATGateway makes the environment's NAT gateway with its Elastic IP. The environment's
// former gateways are dealt with first: a failed one is deleted (AWS would only after about an
// hour), and the address is used once no former gateway is still deleting (a deleting gateway
// holds it). A gateway that fails is replaced the same way.
func (s natGatewayStep) createNATGateway(ctx context.Context, e *Env, subnet, allocationID string) error {
	var err error
	for range natAttempts {
		var former []ec2types.NatGateway
		if former, err = s.formerNATGateways(ctx, e); err != nil {
			return err
		}
		if err = clearFormerNATGateways(ctx, e, former); err != nil {
			return err
		}
		err = s.createNATOnce(ctx, e, subnet, allocationID, natToken(allocationID, former))
		failed := (*natFailedError)(nil)
		if !errors.As(err, &failed) {
			return err
		}
		e.Log.Warn().Str("id", failed.id).Msgf("%v; replacing it", failed)
	}
	return fmt.Errorf("creating NAT gateway %s: %d gateways in a row failed, the last: %w", s.natName(e), natAttempts, err)
}

func (s natGatewayStep) createNATOnce(ctx context.Context, e *Env, subnet, allocationID, token string) error {
	out, err := e.AWS.EC2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{
		SubnetId:          aws.String(subnet),
		AllocationId:      aws.String(allocationID),
		ClientToken:       aws.String(token),
		ConnectivityType:  ec2types.ConnectivityTypePublic,
		TagSpecifications: e.ec2TagSpec(ec2types.ResourceTypeNatgateway, s.natName(e)),
	})
	if err != nil {
		return fmt.Errorf("creating NAT gateway in %s: %w", subnet, err)
	}
	id := aws.ToString(out.NatGateway.NatGatewayId)
	if err := e.recordCreated(natKey(s.az), "NAT gateway "+s.natName(e), state.Resource{ID: id, Attrs: map[string]string{attrSubnet: subnet}}); err != nil {
		return err
	}
	if out.NatGateway.State == ec2types.NatGatewayStateAvailable {
		return nil
	}
	return waitNATAvailable(ctx, e, id)
}

// natToken is a create's idempotency token: the same for a resend of this create, and a new one
// after each gateway of the environment that failed or went away, since AWS answers a resent
// token with the gateway it made for it, failed or deleted as that may be by now. The address
// is new after every teardown, so a token never matches a gateway of an earlier environment.
func natToken(allocationID string, former []ec2types.NatGateway) string {
	if len(former) == 0 {
		return "tapctl-nat-" + allocationID
	}
	parts := []string{allocationID}
	for _, n := range former {
		parts = append(parts, aws.ToString(n.NatGatewayId))
	}
	slices.Sort(parts[1:])
	return "tapctl-nat-" + requestToken(parts...)
}

// formerNATGateways are the environment's gateways that are no longer live (failed, deleting,
// or deleted: AWS lists those for about an hour), proven by their tags.
func (s natGatewayStep) formerNATGateways(ctx context.Context, e *Env) ([]ec2types.NatGateway, error) {
	var former []ec2types.NatGateway
	p := ec2.NewDescribeNatGatewaysPaginator(e.AWS.EC2, &ec2.DescribeNatGatewaysInput{Filter: e.ec2OwnedFilters(s.natName(e))})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("looking up former NAT gateways %s by tags: %w", s.natName(e), err)
		}
		// Checked here too: some implementations (moto) ignore these filters.
		for _, n := range page.NatGateways {
			if !liveNAT(n) && e.ec2Owned(n.Tags, s.natName(e)) {
				former = append(former, n)
			}
		}
	}
	return former, nil
}

// natCleanup is what a former gateway needs before its address can be used again.
type natCleanup int

const (
	natLeave           natCleanup = iota // deleted: it holds nothing any more
	natAwaitDeleted                      // deleting: it holds the address until deleted
	natDeleteThenAwait                   // failed: AWS would delete it only after about an hour
)

// formerNATCleanup classifies a former gateway by its state.
func formerNATCleanup(n ec2types.NatGateway) natCleanup {
	switch n.State {
	case ec2types.NatGatewayStateFailed:
		return natDeleteThenAwait
	case ec2types.NatGatewayStateDeleting:
		return natAwaitDeleted
	}
	return natLeave
}

// clearFormerNATGateways deletes the failed gateways and waits until none is deleting: until it
// is deleted, a gateway holds its Elastic IP (EC2 API reference, DeleteNatGateway: deleting a
// public NAT gateway disassociates its Elastic IP address).
func clearFormerNATGateways(ctx context.Context, e *Env, former []ec2types.NatGateway) error {
	for _, n := range former {
		id := aws.ToString(n.NatGatewayId)
		cleanup := formerNATCleanup(n)
		if cleanup == natLeave {
			continue
		}
		if cleanup == natDeleteThenAwait {
			e.Log.Info().Str("id", id).Str("failure", aws.ToString(n.FailureCode)).Msg("deleting failed NAT gateway")
			_, err := e.AWS.EC2.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: aws.String(id)})
			if err := goneIsDone("deleting failed NAT gateway "+id, err); err != nil {
				return err
			}
		}
		if err := waitNATDeleted(ctx, e, id); err != nil {
			return err
		}
	}
	return nil
}

// ensureElasticIP finds or allocates the NAT gateway's address.
func (s natGatewayStep) ensureElasticIP(ctx context.Context, e *Env) (string, error) {
	addr, err := s.findElasticIP(ctx, e)
	if err != nil {
		return "", err
	}
	if addr != nil {
		id := aws.ToString(addr.AllocationId)
		return id, e.Record(elasticIPKey(s.az), state.Resource{ID: id})
	}
	out, err := e.AWS.EC2.AllocateAddress(ctx, &ec2.AllocateAddressInput{
		Domain:            ec2types.DomainTypeVpc,
		TagSpecifications: e.ec2TagSpec(ec2types.ResourceTypeElasticIp, s.addrName(e)),
	})
	if err != nil {
		return "", fmt.Errorf("allocating Elastic IP %s: %w", s.addrName(e), err)
	}
	id := aws.ToString(out.AllocationId)
	if err := e.recordCreated(elasticIPKey(s.az), "Elastic IP "+s.addrName(e), state.Resource{ID: id}); err != nil {
		return "", err
	}
	return id, nil
}

// waitNATAvailable waits with the SDK's waiter: pending -> available takes minutes on AWS. A
// gateway that ends failed (or deleted meanwhile) is a *natFailedError.
func waitNATAvailable(ctx context.Context, e *Env, id string) error {
	e.Log.Info().Str("id", id).Dur("timeout", e.Timeouts.NATGateway).Msg("waiting for NAT gateway to become available")
	w := ec2.NewNatGatewayAvailableWaiter(e.AWS.EC2, func(o *ec2.NatGatewayAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = pollMinDelay, pollMaxDelay
	})
	err := w.Wait(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{id}}, e.Timeouts.NATGateway)
	if err == nil {
		return nil
	}
	if failed := natFailure(ctx, e, id); failed != nil {
		return failed
	}
	return fmt.Errorf("waiting for NAT gateway %s to become available: %w", id, err)
}

// natFailedError is a NAT gateway that will never become available.
type natFailedError struct{ id, state, code, message string }

func (f *natFailedError) Error() string {
	if f.code == "" {
		return fmt.Sprintf("NAT gateway %s is %s", f.id, f.state)
	}
	return fmt.Sprintf("NAT gateway %s is %s (%s: %s)", f.id, f.state, f.code, f.message)
}

// natFailure reads why a gateway will not become available; nil when it still may.
func natFailure(ctx context.Context, e *Env, id string) *natFailedError {
	out, err := e.AWS.EC2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{id}})
	if err != nil || len(out.NatGateways) != 1 {
		return nil
	}
	return natFailureOf(out.NatGateways[0])
}

// natFailureOf says why a gateway will never become available; nil when it is live.
func natFailureOf(n ec2types.NatGateway) *natFailedError {
	if liveNAT(n) {
		return nil
	}
	return &natFailedError{id: aws.ToString(n.NatGatewayId), state: string(n.State), code: aws.ToString(n.FailureCode), message: aws.ToString(n.FailureMessage)}
}

// waitNATDeleted waits, bounded by the NAT timeout, until the gateway is deleted.
func waitNATDeleted(ctx context.Context, e *Env, id string) error {
	w := ec2.NewNatGatewayDeletedWaiter(e.AWS.EC2, func(o *ec2.NatGatewayDeletedWaiterOptions) {
		o.MinDelay, o.MaxDelay = pollMinDelay, pollMaxDelay
	})
	e.Log.Info().Str("id", id).Msg("waiting for NAT gateway to be deleted")
	if err := w.Wait(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{id}}, e.Timeouts.NATGateway); err != nil && !cloud.IsNotFound(err) {
		return fmt.Errorf("waiting for NAT gateway %s to be deleted: %w", id, err)
	}
	return nil
}

func (s natGatewayStep) Down(ctx context.Context, e *Env) error {
	nat, err := s.findNATGateway(ctx, e)
	if err != nil {
		return err
	}
	if nat != nil {
		id := aws.ToString(nat.NatGatewayId)
		_, err := e.AWS.EC2.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: aws.String(id)})
		if err := goneIsDone("deleting NAT gateway "+id, err); err != nil {
			return err
		}
		e.Deleted("NAT gateway "+s.natName(e), id)
	}
	// The address stays associated until the gateway is deleted, not merely deleting; a failed
	// gateway of the environment goes too.
	former, err := s.formerNATGateways(ctx, e)
	if err != nil {
		return err
	}
	if err := clearFormerNATGateways(ctx, e, former); err != nil {
		return err
	}
	if err := e.Forget(natKey(s.az)); err != nil {
		return err
	}
	addr, err := s.findElasticIP(ctx, e)
	return removeFound(e, elasticIPKey(s.az), "Elastic IP "+s.addrName(e), addr, err, allocationID, func(id string) error {
		return retryUntilFree(ctx, e, "releasing Elastic IP "+id, []string{"InvalidIPAddress.InUse", "AuthFailure"}, func(ctx context.Context) error {
			_, err := e.AWS.EC2.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: aws.String(id)})
			return err
		})
	})
}

// Inspect shows the address and the gateway; an unwanted AZ's are networkRetireStep's to show
// (while they exist), so status lists no gateway the network does not want.
func (s natGatewayStep) Inspect(ctx context.Context, e *Env) []Status {
	if !s.wanted {
		return nil
	}
	addr, aerr := s.findElasticIP(ctx, e)
	nat, nerr := s.findNATGateway(ctx, e)
	return []Status{
		{Resource: "Elastic IP " + s.addrName(e), StateID: e.StateID(elasticIPKey(s.az)),
			AWS: engine.Observe(aerr, addr != nil, func() string { return "allocated " + aws.ToString(addr.PublicIp) })},
		{Resource: "NAT gateway " + s.natName(e), StateID: e.StateID(natKey(s.az)),
			AWS: engine.Observe(nerr, nat != nil, func() string { return string(nat.State) + " in " + aws.ToString(nat.SubnetId) })},
	}
}

// natForAZ is the AZ whose NAT gateway an AZ's private subnet sends 0.0.0.0/0 to: its own when
// there is one per AZ, else the first AZ's.
func natForAZ(natGateways, az int) int {
	if natGateways >= AZCount {
		return az
	}
	return 0
}
