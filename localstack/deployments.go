package localstack

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// The emulator runs no tasks, so none of its deployments ever fails or rolls back; and it does
// not serve ListServiceDeployments or DescribeServiceDeployments. A test tells the proxy how ECS
// reports one service's newest deployment (ReportDeployment), and the proxy answers so:
// DescribeServices shows the primary deployment with that rollout state, and the
// service-deployment API answers with that status.

const ecsTarget = "AmazonEC2ContainerServiceV20141113."

// DeploymentReport is how ECS reports the newest deployment of one service.
type DeploymentReport struct {
	// RolloutState and Reason, when set, are the primary deployment's in DescribeServices; it
	// names the service's task definition, as ECS's newest deployment does.
	RolloutState, Reason string
	// Status, when set, is the service deployment's status (ROLLBACK_SUCCESSFUL, ...) with
	// RollbackReason; unset, the service-deployment API stays unserved for the service, as on moto.
	Status, RollbackReason string
}

// ReportDeployment makes the proxy report service's newest deployment as r.
func (p *Proxy) ReportDeployment(service string, r DeploymentReport) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.deployments == nil {
		p.deployments = map[string]DeploymentReport{}
	}
	p.deployments[service] = r
}

func (p *Proxy) deploymentReport(service string) (DeploymentReport, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.deployments[service[strings.LastIndex(service, "/")+1:]]
	return r, ok
}

// serveServiceDeployments answers ListServiceDeployments and DescribeServiceDeployments for a
// service with a reported status; it reports whether it answered r.
func (p *Proxy) serveServiceDeployments(w http.ResponseWriter, r *http.Request) bool {
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), ecsTarget)
	if !ok || op != "ListServiceDeployments" && op != "DescribeServiceDeployments" {
		return false
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var in struct {
		Cluster               string   `json:"cluster"`
		Service               string   `json:"service"`
		ServiceDeploymentArns []string `json:"serviceDeploymentArns"`
	}
	json.Unmarshal(body, &in)
	service := in.Service
	if op == "DescribeServiceDeployments" && len(in.ServiceDeploymentArns) == 1 {
		// arn:aws:ecs:region:account:service-deployment/cluster/service/id, as the list answered.
		parts := strings.Split(in.ServiceDeploymentArns[0], "/")
		if len(parts) == 4 {
			service = parts[2]
		}
	}
	report, ok := p.deploymentReport(service)
	if !ok || report.Status == "" {
		return false
	}
	arn := "arn:aws:ecs:us-east-1:123456789012:service-deployment/" + clusterName(in.Cluster) + "/" + service + "/reported"
	now := float64(time.Now().Unix())
	if op == "ListServiceDeployments" {
		writeECSJSON(w, map[string]any{"serviceDeployments": []map[string]any{{
			"serviceDeploymentArn": arn, "status": report.Status, "createdAt": now, "startedAt": now,
		}}})
		return true
	}
	d := map[string]any{"serviceDeploymentArn": in.ServiceDeploymentArns[0], "status": report.Status, "createdAt": now, "startedAt": now}
	if report.RollbackReason != "" {
		d["rollback"] = map[string]any{"reason": report.RollbackReason, "startedAt": now}
	}
	writeECSJSON(w, map[string]any{"serviceDeployments": []any{d}, "failures": []any{}})
	return true
}

func writeECSJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(v)
}

// reportDeployments rewrites a DescribeServices answer: the primary deployment of a service
// with a reported rollout state shows it.
func (p *Proxy) reportDeployments(op string, body []byte) []byte {
	p.mu.Lock()
	none := len(p.deployments) == 0
	p.mu.Unlock()
	if op != "DescribeServices" || none {
		return body
	}
	return p.rewriteJSON(body, func(doc map[string]any) {
		services, _ := doc["services"].([]any)
		for _, s := range services {
			svc, _ := s.(map[string]any)
			name, _ := svc["serviceName"].(string)
			report, ok := p.deploymentReport(name)
			if !ok || report.RolloutState == "" {
				continue
			}
			deployments, _ := svc["deployments"].([]any)
			for _, d := range deployments {
				if dep, _ := d.(map[string]any); dep != nil && dep["status"] == "PRIMARY" {
					dep["taskDefinition"] = svc["taskDefinition"]
					dep["rolloutState"], dep["rolloutStateReason"] = report.RolloutState, report.Reason
				}
			}
		}
	})
}
