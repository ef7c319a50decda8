package provision

import (
	"errors"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// natFinder is the NAT gateway's ec2Find over a fixed describe answer, as findNATGateway builds it.
func natFinder(answer []types.NatGateway, err error) ec2Find[types.NatGateway] {
	return ec2Find[types.NatGateway]{
		kind: "NAT gateway", name: "nat-pr1", stateKey: keyNATGateway,
		describe: func(ids []string, _ []types.Filter) ([]types.NatGateway, error) {
			if err != nil {
				return nil, err
			}
			if ids == nil {
				return answer, nil
			}
			var out []types.NatGateway
			for _, n := range answer {
				if slices.Contains(ids, aws.ToString(n.NatGatewayId)) {
					out = append(out, n)
				}
			}
			return out, nil
		},
		live: func(n *types.NatGateway) bool { return liveNAT(*n) },
		tags: func(n *types.NatGateway) []types.Tag { return n.Tags },
		id:   func(n *types.NatGateway) string { return aws.ToString(n.NatGatewayId) },
	}
}

func nat(id string, state types.NatGatewayState, tags []types.Tag) types.NatGateway {
	return types.NatGateway{NatGatewayId: aws.String(id), State: state, Tags: tags}
}

// By tags, only the environment's live gateway with its Name counts, whatever the describe call
// answered (moto ignores the filters).
func TestEC2LookupByTagsKeepsOnlyTheLiveOwnedNamedOnes(t *testing.T) {
	owned := ownedEC2Tags("pr1", "nat-pr1")
	cases := []struct {
		name   string
		answer []types.NatGateway
		want   []string
	}{
		{"none", nil, nil},
		{"one available", []types.NatGateway{nat("nat-1", types.NatGatewayStateAvailable, owned)}, []string{"nat-1"}},
		{"one pending", []types.NatGateway{nat("nat-1", types.NatGatewayStatePending, owned)}, []string{"nat-1"}},
		{"failed and deleted are history", []types.NatGateway{
			nat("nat-1", types.NatGatewayStateFailed, owned), nat("nat-2", types.NatGatewayStateDeleted, owned),
			nat("nat-3", types.NatGatewayStateDeleting, owned),
		}, nil},
		{"another environment's", []types.NatGateway{nat("nat-1", types.NatGatewayStateAvailable, ownedEC2Tags("pr2", "nat-pr1"))}, nil},
		{"another Name", []types.NatGateway{nat("nat-1", types.NatGatewayStateAvailable, ownedEC2Tags("pr1", "other"))}, nil},
		{"untagged", []types.NatGateway{nat("nat-1", types.NatGatewayStateAvailable, nil)}, nil},
		{"two live ones both kept", []types.NatGateway{
			nat("nat-1", types.NatGatewayStateAvailable, owned), nat("nat-2", types.NatGatewayStatePending, owned),
		}, []string{"nat-1", "nat-2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := netTestEnv(t, nil)
			found, err := ec2Lookup(e, natFinder(c.answer, nil)).ByTags()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range found {
				got = append(got, aws.ToString(n.NatGatewayId))
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("ByTags = %v, want %v", got, c.want)
			}
		})
	}
}

// By the state file's ID: a gateway that is not live, or not there, is none; an error other
// than not-found is said with the kind and the ID.
func TestEC2LookupByID(t *testing.T) {
	owned := ownedEC2Tags("pr1", "nat-pr1")
	notFound := &smithy.GenericAPIError{Code: "NatGatewayNotFound", Message: "no such gateway"}
	cases := []struct {
		name    string
		answer  []types.NatGateway
		err     error
		want    string
		wantErr string
	}{
		{"available", []types.NatGateway{nat("nat-1", types.NatGatewayStateAvailable, owned)}, nil, "nat-1", ""},
		{"failed is none", []types.NatGateway{nat("nat-1", types.NatGatewayStateFailed, owned)}, nil, "", ""},
		{"absent is none", nil, nil, "", ""},
		{"not found is none", nil, notFound, "", ""},
		{"throttled is an error", nil, &smithy.GenericAPIError{Code: "Throttling", Message: "slow down"}, "",
			"describing NAT gateway nat-1: api error Throttling: slow down"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := netTestEnv(t, nil)
			found, err := ec2Lookup(e, natFinder(c.answer, c.err)).ByID("nat-1")
			if c.wantErr != "" {
				if err == nil || err.Error() != c.wantErr {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				var api smithy.APIError
				if !errors.As(err, &api) {
					t.Errorf("the AWS error is not wrapped: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if found != nil {
				got = aws.ToString(found.NatGatewayId)
			}
			if got != c.want {
				t.Errorf("ByID = %q, want %q", got, c.want)
			}
		})
	}
}
