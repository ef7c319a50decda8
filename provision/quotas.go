package provision

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"

	"github.com/tapctl/tapctl/cloud"
)

// An isolated environment adds one VPC and one Elastic IP (its NAT gateway's) to its region,
// and each has a per-region quota: 5 by default (SPEC, "Default quotas per region"; the default
// VPC counts). Before the first change, up reads how many the region holds and the quota, and
// refuses in one line when the new one would not fit, instead of failing half-way with
// VpcLimitExceeded or AddressLimitExceeded.
const (
	// QuotaVPCs is Service Quotas' "VPCs per Region" (service code vpc).
	QuotaVPCs = "L-F678F1CE"
	// QuotaElasticIPs is Service Quotas' "EC2-VPC Elastic IPs" (service code ec2).
	QuotaElasticIPs = "L-0263D0A3"
	// defaultRegionQuota is AWS's default for both, used when Service Quotas does not answer.
	defaultRegionQuota = 5
)

// regionQuota is one kind of resource an environment adds to its region, with its quota.
type regionQuota struct {
	kind        string // "VPCs": names it in messages
	serviceCode string // Service Quotas' service code
	quotaCode   string
	count       func(ctx context.Context, e *Env) (int, error)
	needed      int // how many up adds: one VPC; one Elastic IP per new NAT gateway
}

var (
	vpcQuota = regionQuota{kind: "VPCs", serviceCode: "vpc", quotaCode: QuotaVPCs, count: countVPCs}
	eipQuota = regionQuota{kind: "Elastic IPs", serviceCode: "ec2", quotaCode: QuotaElasticIPs, count: countElasticIPs}
)

// Headroom is what a region holds of one kind and what its quota allows.
type Headroom struct {
	Kind      string // "VPCs", "Elastic IPs"
	QuotaCode string
	InUse     int
	Quota     int
	Needed    int // how many up adds; 0 counts as 1
}

func (h Headroom) needed() int { return max(h.Needed, 1) }

// full says whether the needed ones would exceed the quota.
func (h Headroom) full() bool { return h.InUse+h.needed() > h.Quota }

// HeadroomError is the refusal of an environment whose VPC or Elastic IP would exceed its
// region's quota: one line with the numbers and the ways out, decided from the counts alone.
// nil when every needed resource fits.
func HeadroomError(region string, needed []Headroom) error {
	var full, more []string
	several := false
	for _, h := range needed {
		if h.full() {
			full = append(full, fmt.Sprintf("%d of %d %s (quota %s)", h.InUse, h.Quota, h.Kind, h.QuotaCode))
			if h.needed() == 1 {
				more = append(more, "one more "+strings.TrimSuffix(h.Kind, "s"))
			} else {
				more = append(more, fmt.Sprintf("%d more %s", h.needed(), h.Kind))
			}
			several = several || h.needed() > 1
		}
	}
	switch {
	case len(full) == 0:
		return nil
	case several:
		// More than one Elastic IP: the NAT gateways of network.natGateways: 3.
		return fmt.Errorf("region %s holds %s; this up needs %s (one Elastic IP per new NAT gateway, network.natGateways): delete some, raise the quota, or keep natGateways: 1",
			region, strings.Join(full, " and "), strings.Join(more, " and "))
	case len(full) == 1:
		return fmt.Errorf("region %s holds %s; an isolated environment needs one more: delete one, raise the quota, or share a base environment's network with --base NAME",
			region, full[0])
	}
	return fmt.Errorf("region %s holds %s; an isolated environment needs one more of each: delete some, raise the quotas, or share a base environment's network with --base NAME",
		region, strings.Join(full, " and "))
}

// CheckHeadroom refuses, before the first change, an environment whose new VPC or new Elastic
// IP would exceed its region's quota; steps are the run's platform, already claimed. It reads
// only when something would be created: whether the VPC, the Elastic IP and the NAT gateway
// exist comes from the claims' reads of this run (engine.Discover), so a converged environment
// costs no call here. For each kind to be
// created it counts the region's resources and asks Service Quotas for the quota, falling back
// to AWS's default when Service Quotas does not answer (no permission, not in the partition or
// the endpoint, an emulator without it).
func CheckHeadroom(ctx context.Context, e *Env, steps []Step) error {
	needed, err := quotasNeeded(ctx, e, steps)
	if err != nil || len(needed) == 0 {
		return err
	}
	// Up to four reads, none waiting for another: side by side, as the steps' reads are.
	rooms := make([]Headroom, len(needed))
	errs := make([]error, 2*len(needed))
	var wg sync.WaitGroup
	for i, q := range needed {
		rooms[i] = Headroom{Kind: q.kind, QuotaCode: q.quotaCode, Needed: q.needed}
		wg.Add(2)
		go func() {
			defer wg.Done()
			rooms[i].InUse, errs[2*i] = q.count(ctx, e)
		}()
		go func() {
			defer wg.Done()
			rooms[i].Quota, errs[2*i+1] = quotaValue(ctx, e, q)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return HeadroomError(e.Region, rooms)
}

// quotasNeeded lists the quota-bound kinds this run would create (toCreate), from the reads
// the claims made. Only the platform's own network steps make them: a run whose steps hold no
// VPC step, or no NAT gateway step (an environment on another's network), needs none of that kind.
func quotasNeeded(ctx context.Context, e *Env, steps []Step) ([]regionQuota, error) {
	if e.base != nil {
		return nil, nil // an overlay creates neither: it runs on its base's network
	}
	has := func(name string) bool {
		return slices.ContainsFunc(steps, func(s Step) bool { return s.Name() == name })
	}
	vpcFound := true
	if has(keyVPC) {
		vpc, err := findVPC(ctx, e)
		if err != nil {
			return nil, err
		}
		vpcFound = vpc != nil
	}
	// Each wanted NAT gateway step (one per AZ with natGateways: 3): the 1 -> 3 change adds two.
	var azs []natFound
	for _, s := range steps {
		nat, ok := s.(natGatewayStep)
		if !ok || !nat.wanted {
			continue
		}
		addr, err := nat.findElasticIP(ctx, e)
		if err != nil {
			return nil, err
		}
		gw, err := nat.findNATGateway(ctx, e)
		if err != nil {
			return nil, err
		}
		azs = append(azs, natFound{address: addr != nil, gateway: gw != nil})
	}
	return toCreate(vpcFound, azs), nil
}

// natFound is what the run found of one wanted NAT gateway and its address.
type natFound struct{ address, gateway bool }

// toCreate is what up creates of the quota-bound kinds, from what the run found: a VPC when
// none is found; an Elastic IP for each wanted NAT gateway of which neither the address nor a
// live gateway is found (up adopts a live gateway's address and allocates none).
func toCreate(vpcFound bool, azs []natFound) []regionQuota {
	var out []regionQuota
	if !vpcFound {
		q := vpcQuota
		q.needed = 1
		out = append(out, q)
	}
	addresses := 0
	for _, az := range azs {
		if !az.address && !az.gateway {
			addresses++
		}
	}
	if addresses > 0 {
		q := eipQuota
		q.needed = addresses
		out = append(out, q)
	}
	return out
}

// countVPCs counts every VPC of the region, the default one included, as the quota does.
func countVPCs(ctx context.Context, e *Env) (int, error) {
	n := 0
	pages := ec2.NewDescribeVpcsPaginator(e.AWS.EC2, &ec2.DescribeVpcsInput{})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("counting the VPCs of region %s (EC2 DescribeVpcs): %w", e.Region, err)
		}
		n += len(out.Vpcs)
	}
	return n, nil
}

// countElasticIPs counts the region's Elastic IPs for use in VPCs, associated or not.
func countElasticIPs(ctx context.Context, e *Env) (int, error) {
	out, err := e.AWS.EC2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{
		Filters: []ec2types.Filter{{Name: aws.String("domain"), Values: []string{string(ec2types.DomainTypeVpc)}}},
	})
	if err != nil {
		return 0, fmt.Errorf("counting the Elastic IPs of region %s (EC2 DescribeAddresses): %w", e.Region, err)
	}
	return len(out.Addresses), nil
}

// quotaValue is the quota Service Quotas applies to the account in the region, or AWS's
// default when it does not answer; the debug log says which.
func quotaValue(ctx context.Context, e *Env, q regionQuota) (int, error) {
	out, err := e.AWS.Quotas.GetServiceQuota(ctx, &servicequotas.GetServiceQuotaInput{
		ServiceCode: aws.String(q.serviceCode), QuotaCode: aws.String(q.quotaCode),
	})
	if ctx.Err() != nil {
		return 0, fmt.Errorf("reading quota %s (%s) of region %s (Service Quotas GetServiceQuota): %w", q.quotaCode, q.kind, e.Region, ctx.Err())
	}
	v, fallback := quotaOrDefault(out, err)
	if fallback == "" {
		e.Log.Debug().Str("quota", q.quotaCode).Int("value", v).Msgf("%s quota of region %s from Service Quotas", q.kind, e.Region)
		return v, nil
	}
	e.Log.Debug().Str("quota", q.quotaCode).Int("value", v).Str("cause", fallback).
		Msgf("Service Quotas did not give the %s quota of region %s; using AWS's default", q.kind, e.Region)
	return v, nil
}

// quotaOrDefault is the quota in GetServiceQuota's answer (a whole number of resources), or
// AWS's default with why when there is none: any error (AccessDenied, NoSuchResourceException
// for a quota or a service the region or endpoint does not know, an endpoint that does not
// answer) or an answer without a value.
func quotaOrDefault(out *servicequotas.GetServiceQuotaOutput, err error) (value int, fallback string) {
	switch {
	case err != nil:
		return defaultRegionQuota, cloud.Brief(err)
	case out == nil || out.Quota == nil || out.Quota.Value == nil:
		return defaultRegionQuota, "no value in the answer"
	}
	return int(math.Floor(aws.ToFloat64(out.Quota.Value))), ""
}
