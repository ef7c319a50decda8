package localstack

import (
	"encoding/json"
	"net/http"
)

// Before up creates an environment's VPC and Elastic IP it reads the region's quotas from
// Service Quotas (provision/quotas.go). moto answers GetServiceQuota with AWS's default for
// "VPCs per Region" (vpc L-F678F1CE: 5, from its static table of VPC quotas, in every region) and
// NoSuchResourceException for every ec2 quota, so for "EC2-VPC Elastic IPs" (L-0263D0A3) tapctl
// falls back to AWS's default, 5, too (moto/servicequotas/models.py, moto 5.2). With the default
// VPC counted, one emulator would then hold four environments per region at once, fewer than
// the scenarios of one test binary keep side by side (parallel tests, gc's several
// environments, what a killed run leaves until the next up).
//
// So the proxy answers those two quotas as an account whose quotas were raised does (a CI
// account that runs one environment per pull request): RaisedQuota each, through faults and
// latency like any call. Proxy.RaisedQuotas.Store(false) gives moto's own answers, for the test
// of the quota check itself.
const RaisedQuota = 1000

// raisedQuotas are the quotas the proxy raises, by quota code: their service code and name.
var raisedQuotas = map[string][2]string{
	"L-F678F1CE": {"vpc", "VPCs per Region"},
	"L-0263D0A3": {"ec2", "EC2-VPC Elastic IPs"},
}

const serviceQuotasTarget = "ServiceQuotasV20190624.GetServiceQuota"

// serveRaisedQuota answers GetServiceQuota of a raised quota; it reports whether it did.
func (p *Proxy) serveRaisedQuota(w http.ResponseWriter, r *http.Request, c call) bool {
	if !p.RaisedQuotas.Load() || r.Header.Get("X-Amz-Target") != serviceQuotasTarget {
		return false
	}
	var in struct{ ServiceCode, QuotaCode string }
	if json.Unmarshal(c.body, &in) != nil {
		return false
	}
	q, ok := raisedQuotas[in.QuotaCode]
	if !ok || q[0] != in.ServiceCode {
		return false
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(map[string]any{"Quota": map[string]any{
		"ServiceCode": in.ServiceCode, "QuotaCode": in.QuotaCode, "QuotaName": q[1],
		"Value": RaisedQuota, "Unit": "None", "Adjustable": true, "GlobalQuota": false,
	}})
	return true
}
