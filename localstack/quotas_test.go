package localstack

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/smithy-go"
)

// The proxy answers the VPC and Elastic IP quotas raised; switched off, moto answers: AWS's
// default for VPCs, NoSuchResourceException for the ec2 quota (quotas.go). Other quotas are
// always moto's.
func TestProxyRaisesTheVPCAndElasticIPQuotas(t *testing.T) {
	p, err := StartProxy(BareEndpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sq := servicequotas.NewFromConfig(cfg, func(o *servicequotas.Options) { o.BaseEndpoint = aws.String(p.URL) })
	quota := func(service, code string) (float64, string) {
		out, err := sq.GetServiceQuota(ctx, &servicequotas.GetServiceQuotaInput{ServiceCode: aws.String(service), QuotaCode: aws.String(code)})
		var apiErr smithy.APIError
		switch {
		case err == nil:
			return aws.ToFloat64(out.Quota.Value), ""
		case !errors.As(err, &apiErr):
			t.Fatalf("GetServiceQuota %s %s: %v", service, code, err)
		}
		return 0, apiErr.ErrorCode()
	}
	type answer struct {
		value float64
		code  string
	}
	for _, c := range []struct {
		raised         bool
		service, quota string
		want           answer
	}{
		{true, "vpc", "L-F678F1CE", answer{RaisedQuota, ""}},
		{true, "ec2", "L-0263D0A3", answer{RaisedQuota, ""}},
		{true, "vpc", "L-A4707A72", answer{5, ""}}, // internet gateways per Region: moto's
		{true, "ec2", "L-F678F1CE", answer{0, "NoSuchResourceException"}},
		{false, "vpc", "L-F678F1CE", answer{5, ""}},
		{false, "ec2", "L-0263D0A3", answer{0, "NoSuchResourceException"}},
	} {
		p.RaisedQuotas.Store(c.raised)
		v, code := quota(c.service, c.quota)
		if (answer{v, code}) != c.want {
			t.Errorf("raised=%t: %s %s = %v %q, want %v %q", c.raised, c.service, c.quota, v, code, c.want.value, c.want.code)
		}
	}
}
