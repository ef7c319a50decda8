package localstack

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Target health. moto's ECS registers no task with its load balancer's target groups, so
// DescribeTargetHealth would answer "no targets" for ever and up would never see the environment
// serve. The proxy answers it instead, for a target group an ECS service names: the service's
// desired count of IP targets, in the state the timing model gives them, or the one a test holds.
//
// The model (at factor 1, the figures AWS documents):
//   - a task's target is registered once the task runs (ecsServiceRunSeconds after the service
//     is created; ECS "registers the task with the target group when the task is RUNNING",
//     ECS developer guide, "Use load balancing to distribute Amazon ECS service traffic");
//   - health checks begin only once the load balancer is active (albProvisioningSeconds after
//     it is created): until then a target is "initial", Elb.RegistrationInProgress;
//   - a target is healthy after HealthyThresholdCount consecutive passing checks, one every
//     HealthCheckIntervalSeconds (ELB user guide, "Health checks for Application Load Balancer
//     target groups"); tapctl's groups check every 30 s and want 2, so 60 s; AWS's defaults are
//     5 and 30.
//
// tapctlHealthCheckSeconds is the time to healthy of tapctl's target groups: 2 checks, 30 s apart.
const tapctlHealthCheckSeconds = 2 * 30

type healthModel struct {
	mu         sync.Mutex
	groups     map[string]servedGroup // target group ARN -> the ECS service using it
	checks     map[string]time.Duration
	lbOfGroup  map[string]string // target group ARN -> the load balancer whose rule forwards to it
	holdLB     bool              // HoldLoadBalancersProvisioning
	holdTarget bool              // HoldTargetsUnhealthy
	held       map[string]int    // answers rewritten by a hold, by operation
}

type servedGroup struct {
	service string // ECS service ARN
	desired int
	port    int
}

func newHealthModel() *healthModel {
	return &healthModel{groups: map[string]servedGroup{}, checks: map[string]time.Duration{}, lbOfGroup: map[string]string{}, held: map[string]int{}}
}

// HoldLoadBalancersProvisioning makes every load balancer "provisioning", whatever the model
// says, until it is called with false.
func (p *Proxy) HoldLoadBalancersProvisioning(on bool) {
	p.health.mu.Lock()
	defer p.health.mu.Unlock()
	p.health.holdLB = on
}

// HoldTargetsUnhealthy makes every target "unhealthy" (Target.FailedHealthChecks) until it is
// called with false.
func (p *Proxy) HoldTargetsUnhealthy(on bool) {
	p.health.mu.Lock()
	defer p.health.mu.Unlock()
	p.health.holdTarget = on
}

// HeldAnswers counts the answers a hold rewrote, by operation (DescribeLoadBalancers,
// DescribeTargetHealth, ...).
func (p *Proxy) HeldAnswers(op string) int {
	p.health.mu.Lock()
	defer p.health.mu.Unlock()
	return p.health.held[op]
}

// learnHealth notes, from a call and its answer, what the model needs: which service uses which
// target group, each group's health check, and which load balancer forwards to it.
func (p *Proxy) learnHealth(c call, answer []byte) {
	h := p.health
	switch c.op {
	case "CreateService", "UpdateService", "DescribeServices":
		var doc struct {
			Service  *ecsService  `json:"service"`
			Services []ecsService `json:"services"`
		}
		if json.Unmarshal(answer, &doc) != nil {
			return
		}
		if doc.Service != nil {
			doc.Services = append(doc.Services, *doc.Service)
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, s := range doc.Services {
			for _, lb := range s.LoadBalancers {
				if s.Status != "ACTIVE" {
					delete(h.groups, lb.TargetGroupArn) // its tasks are gone: no targets
					continue
				}
				h.groups[lb.TargetGroupArn] = servedGroup{service: s.ServiceArn, desired: s.DesiredCount, port: lb.ContainerPort}
			}
		}
	case "CreateTargetGroup":
		q, _ := url.ParseQuery(string(c.body))
		threshold, interval := atoiOr(q.Get("HealthyThresholdCount"), 5), atoiOr(q.Get("HealthCheckIntervalSeconds"), 30)
		if m := targetGroupARN.FindSubmatch(answer); m != nil {
			h.mu.Lock()
			h.checks[string(m[1])] = time.Duration(threshold*interval) * time.Second
			h.mu.Unlock()
		}
	case "CreateRule", "CreateListener", "ModifyRule", "ModifyListener":
		q, _ := url.ParseQuery(string(c.body))
		lb := loadBalancerOfListener(q.Get("ListenerArn"))
		if lb == "" {
			lb = q.Get("LoadBalancerArn")
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		for k, vs := range q {
			if strings.HasSuffix(k, "TargetGroupArn") && lb != "" {
				for _, tg := range vs {
					h.lbOfGroup[tg] = lb
				}
			}
		}
	}
}

var targetGroupARN = regexp.MustCompile(`<TargetGroupArn>([^<]+)</TargetGroupArn>`)

type ecsService struct {
	ServiceArn    string `json:"serviceArn"`
	Status        string `json:"status"`
	DesiredCount  int    `json:"desiredCount"`
	LoadBalancers []struct {
		TargetGroupArn string `json:"targetGroupArn"`
		ContainerPort  int    `json:"containerPort"`
	} `json:"loadBalancers"`
}

// loadBalancerOfListener: arn:…:listener/app/NAME/LB-ID/LISTENER-ID -> arn:…:loadbalancer/app/NAME/LB-ID.
func loadBalancerOfListener(arn string) string {
	i := strings.Index(arn, ":listener/")
	if i < 0 {
		return ""
	}
	rest := arn[i+len(":listener/"):]
	if j := strings.LastIndex(rest, "/"); j > 0 {
		return arn[:i] + ":loadbalancer/" + rest[:j]
	}
	return ""
}

func atoiOr(s string, or int) int {
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return n
	}
	return or
}

// rewriteHealth applies the holds to load balancer answers and answers DescribeTargetHealth for
// a target group a service uses when the emulator knows no target of it.
func (p *Proxy) rewriteHealth(c call, status int, body []byte) []byte {
	if status != 200 {
		return body
	}
	h := p.health
	switch c.op {
	case "CreateLoadBalancer", "DescribeLoadBalancers":
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.holdLB && strings.Contains(string(body), "<Code>active</Code>") {
			h.held[c.op]++
			return []byte(strings.ReplaceAll(string(body), "<Code>active</Code>", "<Code>provisioning</Code>"))
		}
	case "DescribeTargetHealth":
		if strings.Contains(string(body), "<member>") {
			return body // the emulator knows targets of its own
		}
		q, _ := url.ParseQuery(string(c.body))
		tg := q.Get("TargetGroupArn")
		h.mu.Lock()
		defer h.mu.Unlock()
		group, ok := h.groups[tg]
		if !ok {
			return body
		}
		state, reason, description, registered := p.targetState(tg, group)
		if !registered {
			return body
		}
		if h.holdTarget {
			state, reason, description = "unhealthy", "Target.FailedHealthChecks", "Health checks failed"
			h.held[c.op]++
		}
		return targetHealthAnswer(group, state, reason, description)
	}
	return body
}

// targetState is where the model has a group's targets now; registered is false before the
// service's tasks run. Called with h.mu held.
func (p *Proxy) targetState(tg string, group servedGroup) (state, reason, description string, registered bool) {
	if p.timing.Factor <= 0 {
		return "healthy", "", "", true
	}
	p.mu.Lock()
	serviceCreated, hasService := p.created[group.service]
	lbCreated, hasLB := p.created[p.health.lbOfGroup[tg]]
	p.mu.Unlock()
	now := time.Now()
	runs := serviceCreated.Add(p.slowFor(ecsServiceRunSeconds))
	if hasService && now.Before(runs) {
		return "", "", "", false
	}
	checksFrom := runs
	if active := lbCreated.Add(p.slowFor(albProvisioningSeconds)); hasLB && active.After(checksFrom) {
		if now.Before(active) {
			return "initial", "Elb.RegistrationInProgress", "Target registration is in progress", true
		}
		checksFrom = active
	}
	check, ok := p.health.checks[tg]
	if !ok {
		check = 150 * time.Second // AWS's defaults: 5 checks, 30 s apart
	}
	if now.Before(checksFrom.Add(time.Duration(float64(check) * p.timing.Factor))) {
		return "initial", "Elb.InitialHealthChecking", "Initial health checks in progress", true
	}
	return "healthy", "", "", true
}

// targetHealthAnswer is DescribeTargetHealth's answer: desired IP targets in one state.
func targetHealthAnswer(group servedGroup, state, reason, description string) []byte {
	var b strings.Builder
	b.WriteString(`<DescribeTargetHealthResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DescribeTargetHealthResult><TargetHealthDescriptions>`)
	ids := make([]string, group.desired)
	for i := range ids {
		ids[i] = fmt.Sprintf("10.0.%d.%d", 10+i%3, 10+i)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintf(&b, `<member><HealthCheckPort>%d</HealthCheckPort><Target><Id>%s</Id><Port>%d</Port></Target><TargetHealth><State>%s</State>`, group.port, id, group.port, state)
		if reason != "" {
			fmt.Fprintf(&b, `<Reason>%s</Reason><Description>%s</Description>`, reason, description)
		}
		b.WriteString(`</TargetHealth></member>`)
	}
	b.WriteString(`</TargetHealthDescriptions></DescribeTargetHealthResult><ResponseMetadata><RequestId>tapctl-health-model</RequestId></ResponseMetadata></DescribeTargetHealthResponse>`)
	return []byte(b.String())
}
