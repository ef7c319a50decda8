package provision

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tapctl/tapctl/engine"
)

// "Map public IP on launch" is on for public subnets and off for private ones; unset is off.
func TestMapPublicIPDrift(t *testing.T) {
	cases := []struct {
		name   string
		held   *bool
		public bool
		drifts bool
	}{
		{"public, on", aws.Bool(true), true, false},
		{"public, off", aws.Bool(false), true, true},
		{"public, unset", nil, true, true},
		{"private, off", aws.Bool(false), false, false},
		{"private, unset", nil, false, false},
		{"private, on by hand", aws.Bool(true), false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := mapPublicIPDrifts(&ec2types.Subnet{MapPublicIpOnLaunch: c.held}, c.public); got != c.drifts {
				t.Errorf("mapPublicIPDrifts = %t, want %t", got, c.drifts)
			}
		})
	}
}

func subnet(id, cidr string, tags []ec2types.Tag) ec2types.Subnet {
	return ec2types.Subnet{SubnetId: aws.String(id), CidrBlock: aws.String(cidr), Tags: tags}
}

// Each of the six subnets is picked out of the VPC's by the state file's ID, then its Name tag,
// then its CIDR; a foreign one in its place stops the run.
func TestMatchSubnets(t *testing.T) {
	public0 := subnetSpec{Public, 0}
	private2 := subnetSpec{Private, 2}
	cases := []struct {
		name        string
		state       map[string]string
		vpc         []ec2types.Subnet
		want        map[subnetSpec]string
		wantForeign bool
	}{
		{name: "an empty VPC", want: map[subnetSpec]string{}},
		{name: "by Name tag", vpc: []ec2types.Subnet{
			subnet("subnet-a", "10.0.0.0/24", ownedEC2Tags("pr1", "microservices-public-1-pr1")),
			subnet("subnet-b", "10.0.5.0/24", ownedEC2Tags("pr1", "microservices-private-3-pr1")),
		}, want: map[subnetSpec]string{public0: "subnet-a", private2: "subnet-b"}},
		{name: "by CIDR when renamed by hand", vpc: []ec2types.Subnet{
			subnet("subnet-a", "10.0.0.0/24", ownedEC2Tags("pr1", "renamed")),
		}, want: map[subnetSpec]string{public0: "subnet-a"}},
		{name: "the state file's ID before the Name tag", state: map[string]string{public0.key(): "subnet-b"}, vpc: []ec2types.Subnet{
			subnet("subnet-a", "10.0.7.0/24", ownedEC2Tags("pr1", "microservices-public-1-pr1")),
			subnet("subnet-b", "10.0.0.0/24", ownedEC2Tags("pr1", "other")),
		}, want: map[subnetSpec]string{public0: "subnet-b"}},
		{name: "another environment's subnet on the CIDR", vpc: []ec2types.Subnet{
			subnet("subnet-a", "10.0.0.0/24", ownedEC2Tags("pr2", "microservices-public-1-pr2")),
		}, wantForeign: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			found, err := matchSubnets(netTestEnv(t, c.state), c.vpc)
			var foreign *engine.ForeignError
			if c.wantForeign {
				if !errors.As(err, &foreign) {
					t.Fatalf("err = %v, want a ForeignError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[subnetSpec]string{}
			for spec, sn := range found {
				got[spec] = aws.ToString(sn.SubnetId)
			}
			if len(got) != len(c.want) {
				t.Fatalf("found %v, want %v", got, c.want)
			}
			for spec, id := range c.want {
				if got[spec] != id {
					t.Errorf("%v: found %q, want %q", spec, got[spec], id)
				}
			}
		})
	}
}
