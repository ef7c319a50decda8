package provision

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/tapctl/tapctl/catalog"
)

func TestServiceConnectMatches(t *testing.T) {
	e := NewEnv("pr1")
	e.Region = "us-east-1"
	svc := catalog.WithDefaults("payment", 10)
	want := serviceConnectConfig(e, svc, "arn:ns-1")
	otherNamespace := serviceConnectConfig(e, svc, "arn:ns-2")
	otherAlias := serviceConnectConfig(e, svc, "arn:ns-1")
	otherAlias.Services[0].ClientAliases[0].DnsName = aws.String("pay")
	// What some ECS answers hold: enabled, without the services.
	partial := &ecstypes.ServiceConnectConfiguration{Enabled: true, Namespace: aws.String("arn:ns-1")}
	cases := []struct {
		name      string
		reported  *ecstypes.ServiceConnectConfiguration
		recorded  string
		want      *ecstypes.ServiceConnectConfiguration
		wantMatch bool
	}{
		{"reported as wanted", want, "", want, true},
		{"reported in another namespace", otherNamespace, serviceConnectFingerprint(want), want, false},
		{"reported with another alias", otherAlias, "", want, false},
		{"reported off, wanted off", &ecstypes.ServiceConnectConfiguration{Enabled: false}, "", nil, true},
		{"reported off, wanted on", &ecstypes.ServiceConnectConfiguration{Enabled: false}, serviceConnectFingerprint(want), want, false},
		{"not reported: the record of the last one applied decides", nil, serviceConnectFingerprint(want), want, true},
		{"not reported, recorded another", nil, serviceConnectFingerprint(otherNamespace), want, false},
		{"not reported, nothing recorded, wanted off", nil, "", nil, true},
		{"not reported, nothing recorded, wanted on", nil, "", want, false},
		{"reported partly: the record decides", partial, serviceConnectFingerprint(want), want, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := serviceConnectMatches(c.reported, c.recorded, c.want); got != c.wantMatch {
				t.Errorf("serviceConnectMatches = %v, want %v", got, c.wantMatch)
			}
		})
	}
}
