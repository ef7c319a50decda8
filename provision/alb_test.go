package provision

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// The load balancer AWS holds against the SPEC's: its security group and public subnets are
// corrected, another scheme is refused.
func TestALBDrift(t *testing.T) {
	zones := func(subnets ...string) []elbtypes.AvailabilityZone {
		var out []elbtypes.AvailabilityZone
		for _, s := range subnets {
			out = append(out, elbtypes.AvailabilityZone{SubnetId: aws.String(s)})
		}
		return out
	}
	public := []string{"subnet-a", "subnet-b", "subnet-c"}
	lb := func(scheme elbtypes.LoadBalancerSchemeEnum, groups []string, azs []elbtypes.AvailabilityZone) *elbtypes.LoadBalancer {
		return &elbtypes.LoadBalancer{Scheme: scheme, SecurityGroups: groups, AvailabilityZones: azs}
	}
	facing := elbtypes.LoadBalancerSchemeEnumInternetFacing
	cases := []struct {
		name    string
		held    *elbtypes.LoadBalancer
		want    albCorrections
		wantErr string
	}{
		{name: "converged, zones in another order", held: lb(facing, []string{"sg-alb"}, zones("subnet-c", "subnet-a", "subnet-b"))},
		{name: "a group added by hand", held: lb(facing, []string{"sg-alb", "sg-x"}, zones(public...)), want: albCorrections{securityGroups: true}},
		{name: "no group", held: lb(facing, nil, zones(public...)), want: albCorrections{securityGroups: true}},
		{name: "one subnet dropped", held: lb(facing, []string{"sg-alb"}, zones("subnet-a", "subnet-b")), want: albCorrections{subnets: true}},
		{name: "a private subnet instead", held: lb(facing, []string{"sg-x"}, zones("subnet-a", "subnet-b", "subnet-p")), want: albCorrections{securityGroups: true, subnets: true}},
		{name: "internal", held: lb(elbtypes.LoadBalancerSchemeEnumInternal, []string{"sg-alb"}, zones(public...)),
			wantErr: "load balancer alb-pr1 is internal, not internet-facing; the scheme cannot change: delete it to recreate it"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := albDrift(c.held, "alb-pr1", public, "sg-alb")
			if c.wantErr != "" {
				if err == nil || err.Error() != c.wantErr {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("albDrift = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestALBActive(t *testing.T) {
	cases := []struct {
		name  string
		state *elbtypes.LoadBalancerState
		want  bool
	}{
		{"no state", nil, false},
		{"provisioning", &elbtypes.LoadBalancerState{Code: elbtypes.LoadBalancerStateEnumProvisioning}, false},
		{"active", &elbtypes.LoadBalancerState{Code: elbtypes.LoadBalancerStateEnumActive}, true},
		{"failed", &elbtypes.LoadBalancerState{Code: elbtypes.LoadBalancerStateEnumFailed}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := albActive(&elbtypes.LoadBalancer{State: c.state}); got != c.want {
				t.Errorf("albActive = %t, want %t", got, c.want)
			}
		})
	}
}
