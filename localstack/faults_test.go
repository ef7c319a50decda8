package localstack

import (
	"testing"
)

// The rates are spread evenly over each protocol's calls, whatever the seed: a test that
// switches throttling on meets it within a protocol's first few calls, and every stretch of calls
// gets its share.
func TestRatesReachEveryProtocolFromItsFirstCalls(t *testing.T) {
	for seed := range uint64(2000) {
		f := newFaultState()
		f.config = Faults{Seed: seed, ThrottleRate: 0.2, ServerErrorRate: 0.05}
		for _, protocol := range []string{"ec2", "query", "json", "rest-json"} {
			throttled, failed := 0, 0
			for n := 1; n <= 100; n++ {
				e, ok := f.decide(call{protocol: protocol, attempt: 1})
				switch {
				case ok && e == throttling(protocol):
					throttled++
				case ok:
					failed++
				}
				if n == 8 && throttled == 0 {
					t.Fatalf("seed %d: no %s call of the first 8 throttled", seed, protocol)
				}
			}
			if throttled < 18 || throttled > 22 || failed < 3 || failed > 7 {
				t.Fatalf("seed %d: %s: %d of 100 calls throttled, %d failed; want about 20 and 5", seed, protocol, throttled, failed)
			}
		}
	}
}

// The rates refuse only a call's first attempts, so no call runs out of the SDK's ten.
func TestRatesLetALaterAttemptThrough(t *testing.T) {
	f := newFaultState()
	f.config = Faults{ThrottleRate: 1}
	for attempt := 1; attempt <= 10; attempt++ {
		_, refused := f.decide(call{protocol: "ec2", attempt: attempt})
		if refused != (attempt <= randomFaultAttempts) {
			t.Errorf("attempt %d refused: %t", attempt, refused)
		}
	}
}

// The count-based faults answer once each, and only after what arms them.
func TestEventualConsistencyAnswersOnceAfterWhatArmsIt(t *testing.T) {
	f := newFaultState()
	f.config = Faults{NotFoundOnceAfterCreate: true, DependencyViolationOnceAfterDelete: true, RoleUnassumableOnceAfterCreate: true}
	ec2 := func(op, body string) call {
		return call{service: "ec2", op: op, protocol: "ec2", body: []byte(body), attempt: 1}
	}
	refused := func(c call) string {
		if e, ok := f.decide(c); ok {
			return e.code
		}
		return ""
	}

	if got := refused(ec2("DeleteSubnet", "Action=DeleteSubnet&SubnetId=subnet-1")); got != "" {
		t.Errorf("DeleteSubnet before any related delete: %s", got)
	}
	f.arm(ec2("DeleteNatGateway", "Action=DeleteNatGateway&NatGatewayId=nat-1"), nil)
	for i, want := range []string{"DependencyViolation", ""} {
		if got := refused(ec2("DeleteSubnet", "Action=DeleteSubnet&SubnetId=subnet-1")); got != want {
			t.Errorf("DeleteSubnet %d after DeleteNatGateway: %q, want %q", i+1, got, want)
		}
	}

	f.arm(ec2("CreateVpc", "Action=CreateVpc"), []byte("<vpc><vpcId>vpc-1</vpcId></vpc>"))
	if got := refused(ec2("DescribeVpcs", "Action=DescribeVpcs&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1")); got != "" {
		t.Errorf("a filter naming the new VPC: %s", got)
	}
	for i, want := range []string{"InvalidVpcID.NotFound", ""} {
		if got := refused(ec2("ModifyVpcAttribute", "Action=ModifyVpcAttribute&VpcId=vpc-1")); got != want {
			t.Errorf("ModifyVpcAttribute %d after CreateVpc: %q, want %q", i+1, got, want)
		}
	}

	role := "arn:aws:iam::123456789012:role/payment-infra-pr1"
	f.arm(call{service: "iam", op: "CreateRole", protocol: "query"}, []byte("<Role><Arn>"+role+"</Arn></Role>"))
	create := call{service: "ecs", op: "CreateService", protocol: "json", body: []byte(`{"roleArn":"` + role + `"}`), attempt: 1}
	for i, want := range []string{"InvalidParameterException", ""} {
		if got := refused(create); got != want {
			t.Errorf("CreateService %d naming the new role: %q, want %q", i+1, got, want)
		}
	}
	if fired := f.fired; fired[FaultDependencyViolation] != 1 || fired[FaultNotFound] != 1 || fired[FaultRoleUnassumable] != 1 {
		t.Errorf("fired %v, want each once", fired)
	}
}
