package provision

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tapctl/tapctl/engine"
)

// A group's status: one line per key, in order, with what AWS holds of each found; before the
// VPC is recorded nothing is read.
func TestVPCGroupInspectEach(t *testing.T) {
	group := func(found map[string]*ec2types.RouteTable, err error, reads *int) vpcGroup[string, ec2types.RouteTable] {
		return vpcGroup[string, ec2types.RouteTable]{
			keys: []string{Public, Private},
			find: func(string) (map[string]*ec2types.RouteTable, error) {
				*reads++
				return found, err
			},
			stateKey: routeTableKey,
			label:    func(kind string) string { return "route table " + kind },
			id:       func(rt *ec2types.RouteTable) string { return aws.ToString(rt.RouteTableId) },
		}
	}
	held := func(rt *ec2types.RouteTable) string { return "held " + aws.ToString(rt.RouteTableId) }

	reads := 0
	e := netTestEnv(t, map[string]string{keyVPC: "vpc-1", routeTableKey(Public): "rtb-1"})
	got := group(map[string]*ec2types.RouteTable{Public: {RouteTableId: aws.String("rtb-1")}}, nil, &reads).inspectEach(e, held)
	if len(got) != 2 || got[0].Resource != "route table public" || got[0].StateID != "rtb-1" || got[0].AWS != engine.Observe(nil, true, func() string { return "held rtb-1" }) ||
		got[1].Resource != "route table private" || got[1].StateID != "" || got[1].AWS != engine.Observe(nil, false, nil) {
		t.Errorf("inspectEach = %+v", got)
	}

	failed := errors.New("throttled")
	got = group(nil, failed, &reads).inspectEach(e, held)
	if got[0].AWS != engine.Observe(failed, false, nil) {
		t.Errorf("a failed read: %+v", got[0])
	}

	reads = 0
	group(nil, nil, &reads).inspectEach(netTestEnv(t, nil), held)
	if reads != 0 {
		t.Errorf("read the VPC's tables %d times before the VPC was recorded", reads)
	}
}
