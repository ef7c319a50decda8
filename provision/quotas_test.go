package provision

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	sqtypes "github.com/aws/aws-sdk-go-v2/service/servicequotas/types"
	"github.com/aws/smithy-go"
)

// A new VPC or Elastic IP that would go beyond the region's quota is refused in one line with
// the numbers; what fits, or is not created, is not.
func TestHeadroomError(t *testing.T) {
	vpcs := func(inUse, quota int) Headroom {
		return Headroom{Kind: "VPCs", QuotaCode: QuotaVPCs, InUse: inUse, Quota: quota}
	}
	eips := func(inUse, quota int) Headroom {
		return Headroom{Kind: "Elastic IPs", QuotaCode: QuotaElasticIPs, InUse: inUse, Quota: quota}
	}
	cases := []struct {
		name   string
		needed []Headroom
		want   string // "" for no refusal
	}{
		{"nothing to create", nil, ""},
		{"room for one more VPC", []Headroom{vpcs(4, 5)}, ""},
		{"room for both", []Headroom{vpcs(1, 5), eips(0, 5)}, ""},
		{"a raised quota", []Headroom{vpcs(5, 20), eips(19, 20)}, ""},
		{"VPCs full",
			[]Headroom{vpcs(5, 5), eips(2, 5)},
			"region us-east-1 holds 5 of 5 VPCs (quota L-F678F1CE); an isolated environment needs one more: delete one, raise the quota, or share a base environment's network with --base NAME"},
		{"Elastic IPs full",
			[]Headroom{vpcs(2, 5), eips(5, 5)},
			"region us-east-1 holds 5 of 5 Elastic IPs (quota L-0263D0A3); an isolated environment needs one more: delete one, raise the quota, or share a base environment's network with --base NAME"},
		{"only the Elastic IP is created, and it is full",
			[]Headroom{eips(5, 5)},
			"region us-east-1 holds 5 of 5 Elastic IPs (quota L-0263D0A3); an isolated environment needs one more: delete one, raise the quota, or share a base environment's network with --base NAME"},
		{"over the quota already (lowered since)",
			[]Headroom{vpcs(7, 5)},
			"region us-east-1 holds 7 of 5 VPCs (quota L-F678F1CE); an isolated environment needs one more: delete one, raise the quota, or share a base environment's network with --base NAME"},
		{"both full",
			[]Headroom{vpcs(5, 5), eips(6, 6)},
			"region us-east-1 holds 5 of 5 VPCs (quota L-F678F1CE) and 6 of 6 Elastic IPs (quota L-0263D0A3); an isolated environment needs one more of each: delete some, raise the quotas, or share a base environment's network with --base NAME"},
		{"two more Elastic IPs for the NAT gateways of two more AZs", []Headroom{{Kind: "Elastic IPs", QuotaCode: QuotaElasticIPs, InUse: 4, Quota: 5, Needed: 2}},
			"region us-east-1 holds 4 of 5 Elastic IPs (quota L-0263D0A3); this up needs 2 more Elastic IPs (one Elastic IP per new NAT gateway, network.natGateways): delete some, raise the quota, or keep natGateways: 1"},
		{"a fresh environment with three NAT gateways", []Headroom{{Kind: "VPCs", QuotaCode: QuotaVPCs, InUse: 5, Quota: 5, Needed: 1}, {Kind: "Elastic IPs", QuotaCode: QuotaElasticIPs, InUse: 3, Quota: 5, Needed: 3}},
			"region us-east-1 holds 5 of 5 VPCs (quota L-F678F1CE) and 3 of 5 Elastic IPs (quota L-0263D0A3); this up needs one more VPC and 3 more Elastic IPs (one Elastic IP per new NAT gateway, network.natGateways): delete some, raise the quota, or keep natGateways: 1"},
		{"room for two more", []Headroom{{Kind: "Elastic IPs", QuotaCode: QuotaElasticIPs, InUse: 3, Quota: 5, Needed: 2}}, ""},
		{"a quota of zero", []Headroom{vpcs(0, 0)},
			"region us-east-1 holds 0 of 0 VPCs (quota L-F678F1CE); an isolated environment needs one more: delete one, raise the quota, or share a base environment's network with --base NAME"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := HeadroomError("us-east-1", c.needed)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.want != "" && err == nil:
				t.Errorf("not refused, want %q", c.want)
			case c.want != "" && err.Error() != c.want:
				t.Errorf("refusal\n got %q\nwant %q", err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), "\n") {
				t.Errorf("refusal spans lines: %q", err)
			}
		})
	}
}

// Only what up would create is checked: the VPC when it is not found, the Elastic IP when
// neither it nor a live NAT gateway (whose address up adopts) is found. A converged
// environment needs nothing, and so makes no call.
func TestToCreate(t *testing.T) {
	none, both := natFound{}, natFound{address: true, gateway: true}
	cases := []struct {
		name string
		vpc  bool
		azs  []natFound
		want []string
	}{
		{"fresh environment", false, []natFound{none}, []string{QuotaVPCs + "x1", QuotaElasticIPs + "x1"}},
		{"fresh environment, a NAT gateway per AZ", false, []natFound{none, none, none}, []string{QuotaVPCs + "x1", QuotaElasticIPs + "x3"}},
		{"converged", true, []natFound{both}, nil},
		{"converged, three NAT gateways", true, []natFound{both, both, both}, nil},
		{"one NAT gateway to three", true, []natFound{both, none, none}, []string{QuotaElasticIPs + "x2"}},
		{"network up to the NAT gateway", true, []natFound{none}, []string{QuotaElasticIPs + "x1"}},
		{"address allocated, gateway not yet", true, []natFound{{address: true}}, nil},
		{"gateway found, its address not by its tags", true, []natFound{{gateway: true}}, nil},
		{"VPC deleted by hand", false, []natFound{both}, []string{QuotaVPCs + "x1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, q := range toCreate(c.vpc, c.azs) {
				got = append(got, fmt.Sprintf("%sx%d", q.quotaCode, q.needed))
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("toCreate = %v, want %v", got, c.want)
			}
		})
	}
}

// The quota is Service Quotas' value when it answers one; AWS's default, with why, otherwise.
func TestQuotaOrDefault(t *testing.T) {
	answer := func(v *float64) *servicequotas.GetServiceQuotaOutput {
		return &servicequotas.GetServiceQuotaOutput{Quota: &sqtypes.ServiceQuota{QuotaCode: aws.String(QuotaVPCs), Value: v}}
	}
	cases := []struct {
		name     string
		out      *servicequotas.GetServiceQuotaOutput
		err      error
		want     int
		fallback string // a part of why the default was used; "" when it was not
	}{
		{"moto's and AWS's default", answer(aws.Float64(5)), nil, 5, ""},
		{"raised", answer(aws.Float64(250)), nil, 250, ""},
		{"a fraction is cut down", answer(aws.Float64(5.9)), nil, 5, ""},
		{"no permission", nil, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized"}, 5, "AccessDeniedException"},
		{"not in this region or emulator", nil, &smithy.GenericAPIError{Code: "NoSuchResourceException", Message: "not available"}, 5, "NoSuchResourceException"},
		{"endpoint unreachable", nil, errors.New("dial tcp 127.0.0.1:1: connection refused"), 5, "connection refused"},
		{"no quota in the answer", &servicequotas.GetServiceQuotaOutput{}, nil, 5, "no value"},
		{"no value in the quota", answer(nil), nil, 5, "no value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, fallback := quotaOrDefault(c.out, c.err)
			if got != c.want {
				t.Errorf("quota = %d, want %d", got, c.want)
			}
			if c.fallback == "" && fallback != "" || c.fallback != "" && !strings.Contains(fallback, c.fallback) {
				t.Errorf("fallback = %q, want %q", fallback, c.fallback)
			}
		})
	}
}

// A platform without the VPC and NAT gateway steps (an environment on another's network) makes
// neither, so it needs no headroom and reads nothing (this Env has no clients at all).
func TestNoNetworkStepsNeedNoHeadroom(t *testing.T) {
	e := NewEnv("pr1")
	steps := Platform(nil, DefaultChoices())
	steps = slices.DeleteFunc(steps, func(s Step) bool { return s.Name() == keyVPC || s.Name() == keyNATGateway })
	if err := CheckHeadroom(context.Background(), e, steps); err != nil {
		t.Errorf("CheckHeadroom = %v, want nil without reading", err)
	}
}
