package localstack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Timing makes the proxy answer like AWS in time, not only in content. tapctl is not changed
// for it: only the emulator's answers are delayed or rewritten.
type Timing struct {
	// Latency is added to every call (AWS API calls take tens of milliseconds; 50 ms default).
	Latency time.Duration
	// Factor scales AWS's slow transitions; 0 turns them off, 1 uses the figures below.
	Factor float64
}

// How long AWS takes, in seconds, before a new resource is usable. Figures as issue 6 states
// them; AWS's documentation speaks of "a few minutes" for NAT gateways (VPC user guide, "NAT
// gateways": pending until available) and load balancers (ELB user guide: "provisioning" state),
// Cloud Map's namespace creation is an asynchronous operation that creates a Route 53 hosted
// zone (about a minute), and Fargate tasks pass image pull and health checks before "running".
const (
	natPendingSeconds      = 90
	albProvisioningSeconds = 150
	namespaceOpSeconds     = 45
	ecsServiceRunSeconds   = 120
)

// Figures are the model's waits at factor 1, in seconds, for the bench's critical-path bound.
var Figures = struct {
	NATPending, ALBProvisioning, NamespaceOperation, ECSServiceRun, HealthChecks float64
	ServiceDrain, NATDeleting, ALBInterfaces, TaskInterfaces                     float64
}{natPendingSeconds, albProvisioningSeconds, namespaceOpSeconds, ecsServiceRunSeconds, tapctlHealthCheckSeconds,
	serviceDrainSeconds, natDeletingSeconds, albENILingerSeconds, taskENILingerSeconds}

// NewTimingProxy is a Proxy in front of upstream that applies t.
func NewTimingProxy(upstream string, t Timing) (*Proxy, error) {
	p, err := StartProxy(upstream)
	if err != nil {
		return nil, err
	}
	p.timing = t
	return p, nil
}

// ServeTimingProxy is NewTimingProxy on a chosen address (the timingproxy command).
func ServeTimingProxy(addr, upstream string, t Timing) (*Proxy, error) {
	p, err := startProxyOn(addr, upstream)
	if err != nil {
		return nil, err
	}
	p.timing = t
	return p, nil
}

// operation names the call: X-Amz-Target for JSON protocols, Action= for the query protocols.
func operation(r *http.Request, body []byte) string {
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		return t[strings.LastIndex(t, ".")+1:]
	}
	if v, err := url.ParseQuery(string(body)); err == nil {
		return v.Get("Action")
	}
	return ""
}

func (p *Proxy) slowFor(seconds float64) time.Duration {
	return time.Duration(seconds * p.timing.Factor * float64(time.Second))
}

// young reports whether id was created less than d ago.
func (p *Proxy) young(id string, d time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	created, ok := p.created[id]
	return ok && time.Since(created) < d
}

func (p *Proxy) remember(ids ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, id := range ids {
		if _, ok := p.created[id]; !ok {
			p.created[id] = time.Now()
		}
	}
}

var (
	natIDPattern   = regexp.MustCompile(`<natGatewayId>(nat-[0-9a-f]+)</natGatewayId>`)
	albARNPattern  = regexp.MustCompile(`<LoadBalancerArn>([^<]+)</LoadBalancerArn>`)
	natStateAvail  = []byte("<state>available</state>")
	albStateActive = []byte("<Code>active</Code>")
)

// rewriteSlow turns the emulator's instant answers into AWS's slow ones.
func (p *Proxy) rewriteSlow(c call, body []byte) []byte {
	if p.timing.Factor <= 0 {
		return body
	}
	body = p.rewriteDown(c, body) // timing_down.go
	switch op := c.op; op {
	case "CreateNatGateway", "DescribeNatGateways":
		if op == "CreateNatGateway" {
			for _, m := range natIDPattern.FindAllSubmatch(body, -1) {
				p.remember(string(m[1]))
			}
		}
		return p.rewriteAfterEach(body, natIDPattern, natStateAvail, []byte("<state>pending</state>"), p.slowFor(natPendingSeconds))
	case "CreateLoadBalancer", "DescribeLoadBalancers":
		if op == "CreateLoadBalancer" {
			for _, m := range albARNPattern.FindAllSubmatch(body, -1) {
				p.remember(string(m[1]))
			}
		}
		return p.rewriteAfterEach(body, albARNPattern, albStateActive, []byte("<Code>provisioning</Code>"), p.slowFor(albProvisioningSeconds))
	case "CreatePrivateDnsNamespace":
		var out struct{ OperationId string }
		if json.Unmarshal(body, &out) == nil && out.OperationId != "" {
			p.remember(out.OperationId)
		}
	case "GetOperation":
		return p.rewriteJSON(body, func(doc map[string]any) {
			op, _ := doc["Operation"].(map[string]any)
			if id, _ := op["Id"].(string); op != nil && p.young(id, p.slowFor(namespaceOpSeconds)) {
				op["Status"] = "PENDING"
			}
		})
	case "CreateService":
		return p.rewriteJSON(body, func(doc map[string]any) {
			if svc, _ := doc["service"].(map[string]any); svc != nil {
				arn, _ := svc["serviceArn"].(string)
				p.remember(arn)
				p.startingService(svc)
			}
		})
	case "DescribeServices":
		return p.rewriteJSON(body, func(doc map[string]any) {
			services, _ := doc["services"].([]any)
			for _, s := range services {
				if svc, _ := s.(map[string]any); svc != nil {
					if arn, _ := svc["serviceArn"].(string); p.young(arn, p.slowFor(ecsServiceRunSeconds)) {
						p.startingService(svc)
					}
				}
			}
		})
	}
	return body
}

// startingService shows a service as ECS does while its tasks start: none running yet.
func (p *Proxy) startingService(svc map[string]any) {
	desired := svc["desiredCount"]
	svc["runningCount"], svc["pendingCount"] = 0, desired
	deployments, _ := svc["deployments"].([]any)
	for _, d := range deployments {
		if dep, _ := d.(map[string]any); dep != nil {
			dep["runningCount"], dep["pendingCount"], dep["rolloutState"] = 0, desired, "IN_PROGRESS"
		}
	}
}

// rewriteAfterEach replaces, for each ID the pattern finds that is still young, the first
// occurrence of from after it (before the next ID) with to.
func (p *Proxy) rewriteAfterEach(body []byte, idPattern *regexp.Regexp, from, to []byte, d time.Duration) []byte {
	locs := idPattern.FindAllSubmatchIndex(body, -1)
	var out bytes.Buffer
	last := 0
	for i, loc := range locs {
		id := string(body[loc[2]:loc[3]])
		end := len(body)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		if !p.young(id, d) {
			continue
		}
		j := bytes.Index(body[loc[1]:end], from)
		if j < 0 {
			continue
		}
		at := loc[1] + j
		out.Write(body[last:at])
		out.Write(to)
		last = at + len(from)
	}
	out.Write(body[last:])
	return out.Bytes()
}

func (p *Proxy) rewriteJSON(body []byte, edit func(map[string]any)) []byte {
	var doc map[string]any
	if json.Unmarshal(body, &doc) != nil {
		return body
	}
	edit(doc)
	out, err := json.Marshal(doc)
	if err != nil {
		return body
	}
	return out
}

// timed wraps the reverse proxy: faults and latency first, then the slow-state rewrite of the
// answer (or its loss).
func (p *Proxy) timed(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	c := newCall(r, body)
	if p.Trace != nil {
		start := time.Now()
		status := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		w = status
		defer func() {
			fmt.Fprintf(p.Trace, "%s %-34s %d %s\n", start.Format("15:04:05.000"), c.service+"."+c.op, status.status, time.Since(start).Round(time.Millisecond))
		}()
	}
	op := c.op
	if e, ok := p.before(c); ok {
		writeAWSError(w, c.protocol, e)
		return
	}
	if e, ok := p.stillInUse(c); ok { // timing_down.go
		writeAWSError(w, c.protocol, e)
		return
	}
	if p.timing.Latency > 0 {
		time.Sleep(p.timing.Latency)
	}
	if p.serveRaisedQuota(w, r, c) { // quotas.go
		return
	}
	rec, replayed := p.replay(c)
	untag := false
	if !replayed {
		rec = &recorder{header: http.Header{}, status: http.StatusOK}
		clientGone := r.Context().Done()
		untag = askECSTags(r, c)           // ecs_tags.go
		done, refused := guardListeners(c) // listener_ports.go
		if refused != nil {
			writeAWSError(w, c.protocol, *refused)
			return
		}
		r = p.carryOut(r) // killpoint.go
		p.rp.ServeHTTP(rec, r)
		done(rec.status, rec.body.Bytes())
		p.after(c, rec.status, rec.body.Bytes())
		p.keepAnswer(c, rec)
		p.countMutating(op, rec.status, rec.body.Bytes(), clientGone) // kill points (killpoint.go)
	}
	if p.dropArmed(c) {
		dropConnection(w)
		return
	}
	p.learnHealth(c, rec.body.Bytes()) // timing_health.go
	out := p.reportDeployments(op, p.rewriteSlow(c, p.strictRewrite(c, rec.body.Bytes())))
	out = p.rewriteHealth(c, rec.status, out)
	if untag {
		out = dropECSTags(op, out)
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(rec.status)
	w.Write(out)
}

// statusWriter remembers the status written, for Trace.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(status int) {
	s.status = status
	s.ResponseWriter.WriteHeader(status)
}

// recorder buffers one upstream answer so it can be rewritten.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }
