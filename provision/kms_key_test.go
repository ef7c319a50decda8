package provision

import (
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

func TestKeyRevival(t *testing.T) {
	cases := []struct {
		state                    kmstypes.KeyState
		wantCancel, wantEnabling bool
	}{
		{kmstypes.KeyStateEnabled, false, false},
		{kmstypes.KeyStateDisabled, false, true},
		// Cancelling a deletion leaves the key disabled: it is enabled too.
		{kmstypes.KeyStatePendingDeletion, true, true},
	}
	for _, c := range cases {
		cancel, enable := keyRevival(c.state)
		if cancel != c.wantCancel || enable != c.wantEnabling {
			t.Errorf("%s: cancel %v, enable %v; want %v, %v", c.state, cancel, enable, c.wantCancel, c.wantEnabling)
		}
	}
}

func TestKeyPolicyAndRotationCorrections(t *testing.T) {
	e := NewEnv("pr1")
	e.Region, e.Account = "us-east-1", "123456789012"
	want := keyPolicy(e).String()
	withoutLogs := newPolicy(keyPolicy(e).Statement[0]).String()
	cases := []struct {
		name    string
		have    string
		wantPut bool
	}{
		{"tapctl's policy", want, false},
		{"tapctl's policy as KMS returns it, URL-encoded", url.QueryEscape(want), false},
		{"CloudWatch Logs' statement removed by hand", withoutLogs, true},
		{"AWS's default policy", `{"Version":"2012-10-17","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*","Resource":"*"}]}`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			put := keyPolicyCorrection("k1", c.have, want)
			if (put != nil) != c.wantPut {
				t.Fatalf("put = %+v, want one: %v", put, c.wantPut)
			}
			if put != nil && (aws.ToString(put.Policy) != want || aws.ToString(put.PolicyName) != "default" || aws.ToString(put.KeyId) != "k1") {
				t.Errorf("put = %+v, want tapctl's policy as the key's default", put)
			}
		})
	}
	if keyRotationCorrection("k1", true) != nil {
		t.Error("rotation on: a correction")
	}
	if in := keyRotationCorrection("k1", false); in == nil || aws.ToString(in.KeyId) != "k1" {
		t.Errorf("rotation off: correction %+v, want EnableKeyRotation of k1", in)
	}
}
