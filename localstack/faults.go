package localstack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Faults are AWS's bad days, injected by the proxy; each test switches on the ones it needs with
// SetFaults. Every answer is one AWS documents, in the shape of the service's own protocol, so
// the SDK classifies it as it would on AWS.
type Faults struct {
	// Seed makes the random faults reproducible (a test logs it).
	Seed uint64
	// ThrottleRate is the share of calls answered with the service's throttling error:
	// EC2 RequestLimitExceeded (503), query services Throttling (400), JSON services
	// ThrottlingException (400), App Mesh TooManyRequestsException (429).
	ThrottleRate float64
	// ServerErrorRate is the share of calls answered 500 or 503 (InternalError, Unavailable, ...).
	ServerErrorRate float64
	// NotFoundAfterCreate: an EC2 or ELBv2 resource created less than this ago is "not found"
	// to any call that names it by ID (not to tag or name filters), as EC2 answers right after
	// a create (InvalidVpcID.NotFound, InvalidSubnetID.NotFound, TargetGroupNotFound, ...).
	NotFoundAfterCreate time.Duration
	// DependencyAfterDelete: subnets and security groups cannot be deleted for this long after a
	// NAT gateway, load balancer or ECS service delete (their network interfaces linger), nor the
	// VPC after its internet gateway is detached or a subnet or group deleted: DependencyViolation.
	DependencyAfterDelete time.Duration
	// RoleUnassumableFor: ECS cannot assume an IAM role created less than this ago (IAM is
	// eventually consistent): CreateService and UpdateService that name it answer
	// InvalidParameterException "Unable to assume role ...".
	RoleUnassumableFor time.Duration
}

// fault answers an operation with an AWS error a number of times before letting it through.
type fault struct {
	code      string
	remaining int
	injected  int
}

// faultState is the proxy's fault bookkeeping, under Proxy.mu.
type faultState struct {
	config   Faults
	rng      *rand.Rand
	armed    map[string]*fault    // operation -> counted failure (FailEC2)
	drops    map[string]int       // operation -> answers still to lose
	dropped  map[string]int       // operation -> answers lost
	injected map[string]int       // "operation code" -> times answered with code
	deletes  map[string]time.Time // "service:Operation" of a delete -> when it was last made
	ids      map[string]string    // ID or ARN created through the proxy -> its not-found code
	created  map[string]time.Time // the proxy's creation times (shared with the timing model)
	answers  map[string]*recorder // "service:Operation token" -> the first answer to that create
}

func newFaultState() faultState {
	return faultState{armed: map[string]*fault{}, drops: map[string]int{}, dropped: map[string]int{},
		injected: map[string]int{}, deletes: map[string]time.Time{}, ids: map[string]string{}, answers: map[string]*recorder{}}
}

// SetFaults switches faults on (the zero Faults switches them off).
func (p *Proxy) SetFaults(f Faults) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults.config = f
	p.faults.rng = rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))
}

// FailEC2 makes the next n calls of an EC2 operation fail with code (for example
// DependencyViolation on DeleteSubnet, as AWS answers while network interfaces linger).
func (p *Proxy) FailEC2(operation, code string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults.armed[operation] = &fault{code: code, remaining: n}
}

// Injected reports how many failures FailEC2 gave an operation.
func (p *Proxy) Injected(operation string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f := p.faults.armed[operation]; f != nil {
		return f.injected
	}
	return 0
}

// InjectedCodes counts the errors injected so far, by "Operation Code".
func (p *Proxy) InjectedCodes() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for k, v := range p.faults.injected {
		out[k] = v
	}
	return out
}

// DropResponse makes the emulator carry out the next n calls of operation ("CreateVpc", or
// "ecs:CreateService" where two services share the name) while the client never gets the
// answer: the proxy closes the connection instead, as a network failure would.
func (p *Proxy) DropResponse(operation string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults.drops[operation] = n
}

// Dropped reports how many answers of operation were lost.
func (p *Proxy) Dropped(operation string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults.dropped[operation]
}

// call is one request as the fault model sees it.
type call struct {
	service, op string // SigV4 service name ("ec2", "ecs", "elasticloadbalancing", ...), operation
	protocol    string // "ec2", "query", "json", "rest-json"
	body        []byte
	auth        string // the Authorization header, for the proxy's own calls to the emulator
}

var credentialScope = regexp.MustCompile(`Credential=[^/]+/\d+/[^/]+/([^/]+)/aws4_request`)

func newCall(r *http.Request, body []byte) call {
	c := call{op: operation(r, body), body: body, auth: r.Header.Get("Authorization")}
	if m := credentialScope.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		c.service = m[1]
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/v20190125/"):
		c.protocol = "rest-json"
	case r.Header.Get("X-Amz-Target") != "":
		c.protocol = "json"
	case c.service == "ec2":
		c.protocol = "ec2"
	default:
		c.protocol = "query"
	}
	return c
}

func (c call) is(names ...string) bool {
	for _, n := range names {
		if n == c.op || n == c.service+":"+c.op {
			return true
		}
	}
	return false
}

// awsError is one error answer.
type awsError struct {
	status        int
	code, message string
}

// throttling is each protocol's throttling answer, as the SDK's retry table knows it
// (aws/retry DefaultThrottleErrorCodes; App Mesh's 429 is modeled as TooManyRequestsException).
func throttling(protocol string) awsError {
	switch protocol {
	case "ec2":
		return awsError{http.StatusServiceUnavailable, "RequestLimitExceeded", "Request limit exceeded."}
	case "query":
		return awsError{http.StatusBadRequest, "Throttling", "Rate exceeded"}
	case "rest-json":
		return awsError{http.StatusTooManyRequests, "TooManyRequestsException", "Too many requests"}
	}
	return awsError{http.StatusBadRequest, "ThrottlingException", "Rate exceeded"}
}

// serverError is a 500 or a 503 in the protocol's words; the SDK retries both by status.
func serverError(protocol string, unavailable bool) awsError {
	codes := map[string][2]string{
		"ec2":       {"InternalError", "Unavailable"},
		"query":     {"InternalFailure", "ServiceUnavailable"},
		"json":      {"InternalFailure", "ServiceUnavailableException"},
		"rest-json": {"InternalServerErrorException", "ServiceUnavailableException"},
	}[protocol]
	if unavailable {
		return awsError{http.StatusServiceUnavailable, codes[1], "Service unavailable, try again"}
	}
	return awsError{http.StatusInternalServerError, codes[0], "An internal error has occurred"}
}

func writeAWSError(w http.ResponseWriter, protocol string, e awsError) {
	switch protocol {
	case "ec2":
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(e.status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>injected</RequestID></Response>`, e.code, e.message)
	case "query":
		kind := "Sender"
		if e.status >= 500 {
			kind = "Receiver"
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(e.status)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>injected</RequestId></ErrorResponse>`, kind, e.code, e.message)
	case "rest-json":
		writeAppMeshError(w, e.status, e.code, e.message)
	default:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(e.status)
		json.NewEncoder(w).Encode(map[string]string{"__type": e.code, "message": e.message})
	}
}

// before decides, ahead of the emulator, whether a call is answered with a fault.
func (p *Proxy) before(c call) (awsError, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := &p.faults
	e, ok := f.decide(c)
	if !ok {
		e, ok = p.strictBefore(c)
	}
	if ok {
		f.injected[c.op+" "+e.code]++
	}
	return e, ok
}

func (f *faultState) decide(c call) (awsError, bool) {
	if a := f.armed[c.op]; a != nil && a.remaining > 0 && c.protocol == "ec2" {
		a.remaining--
		a.injected++
		return awsError{http.StatusBadRequest, a.code, "injected by the test proxy"}, true
	}
	cfg := f.config
	if f.rng != nil && (cfg.ThrottleRate > 0 || cfg.ServerErrorRate > 0) {
		switch x := f.rng.Float64(); {
		case x < cfg.ThrottleRate:
			return throttling(c.protocol), true
		case x < cfg.ThrottleRate+cfg.ServerErrorRate:
			return serverError(c.protocol, f.rng.IntN(2) == 0), true
		}
	}
	if d := cfg.NotFoundAfterCreate; d > 0 && (c.protocol == "ec2" || c.service == "elasticloadbalancing") {
		if id, code := f.youngID(c.body, d); id != "" {
			return awsError{http.StatusBadRequest, code, fmt.Sprintf("The ID '%s' does not exist", id)}, true
		}
	}
	if d := cfg.DependencyAfterDelete; d > 0 {
		recent := func(deletes ...string) bool {
			for _, del := range deletes {
				if t, ok := f.deletes[del]; ok && time.Since(t) < d {
					return true
				}
			}
			return false
		}
		refused := c.is("ec2:DeleteSubnet") && recent("ec2:DeleteNatGateway", "elasticloadbalancing:DeleteLoadBalancer", "ecs:DeleteService") ||
			c.is("ec2:DeleteSecurityGroup") && recent("elasticloadbalancing:DeleteLoadBalancer", "ecs:DeleteService") ||
			c.is("ec2:DeleteVpc") && recent("ec2:DetachInternetGateway", "ec2:DeleteSubnet", "ec2:DeleteSecurityGroup")
		if refused {
			return awsError{http.StatusBadRequest, "DependencyViolation", "resource has a dependent object"}, true
		}
	}
	if d := cfg.RoleUnassumableFor; d > 0 && c.is("ecs:CreateService", "ecs:UpdateService") {
		for id, created := range f.roles() {
			if time.Since(created) < d && bytes.Contains(c.body, []byte(id)) {
				return awsError{http.StatusBadRequest, "InvalidParameterException",
					"Unable to assume role and validate the specified targetGroupArn. Please verify that the ECS service role being passed has the proper permissions."}, true
			}
		}
	}
	return awsError{}, false
}

// created IDs: which answer holds the new resource's ID, and the code AWS gives while it is young.
var createdIDs = map[string]struct {
	pattern *regexp.Regexp
	code    string
}{
	"ec2:CreateVpc":                           {regexp.MustCompile(`<vpcId>([^<]+)</vpcId>`), "InvalidVpcID.NotFound"},
	"ec2:CreateSubnet":                        {regexp.MustCompile(`<subnetId>([^<]+)</subnetId>`), "InvalidSubnetID.NotFound"},
	"ec2:CreateInternetGateway":               {regexp.MustCompile(`<internetGatewayId>([^<]+)</internetGatewayId>`), "InvalidInternetGatewayID.NotFound"},
	"ec2:CreateRouteTable":                    {regexp.MustCompile(`<routeTableId>([^<]+)</routeTableId>`), "InvalidRouteTableID.NotFound"},
	"ec2:CreateSecurityGroup":                 {regexp.MustCompile(`<groupId>([^<]+)</groupId>`), "InvalidGroup.NotFound"},
	"ec2:AllocateAddress":                     {regexp.MustCompile(`<allocationId>([^<]+)</allocationId>`), "InvalidAllocationID.NotFound"},
	"ec2:CreateNatGateway":                    {regexp.MustCompile(`<natGatewayId>([^<]+)</natGatewayId>`), "NatGatewayNotFound"},
	"elasticloadbalancing:CreateLoadBalancer": {regexp.MustCompile(`<LoadBalancerArn>([^<]+)</LoadBalancerArn>`), "LoadBalancerNotFound"},
	"elasticloadbalancing:CreateTargetGroup":  {regexp.MustCompile(`<TargetGroupArn>([^<]+)</TargetGroupArn>`), "TargetGroupNotFound"},
	"iam:CreateRole":                          {regexp.MustCompile(`<Arn>([^<]+)</Arn>`), "role"},
}

// after notes what a call the emulator carried out means for later faults.
func (p *Proxy) after(c call, status int, body []byte) {
	if status >= 300 {
		return
	}
	p.mu.Lock()
	defer func() {
		frees := p.strict.takeFrees()
		p.mu.Unlock()
		p.freeAddresses(c.auth, frees)
	}()
	p.strictAfter(c, body)
	p.noteAutoScalingTags(c, body)
	key := c.service + ":" + c.op
	if strings.HasPrefix(c.op, "Delete") || c.op == "DetachInternetGateway" {
		p.faults.deletes[key] = time.Now()
	}
	if k, ok := createdIDs[key]; ok {
		if m := k.pattern.FindSubmatch(body); m != nil {
			id := string(m[1])
			p.faults.ids[id] = k.code
			if _, seen := p.created[id]; !seen {
				p.created[id] = time.Now()
			}
		}
	}
}

// youngID finds an ID the request names (not in a filter) that was created less than d ago.
func (f *faultState) youngID(body []byte, d time.Duration) (string, string) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "", ""
	}
	for k, vs := range form {
		if strings.HasPrefix(k, "Filter.") {
			continue
		}
		for _, v := range vs {
			if code, ok := f.ids[v]; ok && code != "role" && f.since(v) < d {
				return v, code
			}
		}
	}
	return "", ""
}

// roles are the role ARNs created through the proxy, with their creation time.
func (f *faultState) roles() map[string]time.Time {
	out := map[string]time.Time{}
	for id, code := range f.ids {
		if code == "role" {
			out[id] = f.createdAt(id)
		}
	}
	return out
}

// The creation times live in the proxy's created map (shared with the timing model); faultState
// reads them through these two, set up by the proxy.
func (f *faultState) since(id string) time.Duration { return time.Since(f.createdAt(id)) }

func (f *faultState) createdAt(id string) time.Time {
	if f.created == nil {
		return time.Time{}
	}
	return f.created[id]
}

// dropArmed says whether this call's answer is to be lost, counting it.
func (p *Proxy) dropArmed(c call) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, key := range []string{c.service + ":" + c.op, c.op} {
		if n := p.faults.drops[key]; n > 0 {
			p.faults.drops[key] = n - 1
			p.faults.dropped[key]++
			return true
		}
	}
	return false
}

// Unplug makes the endpoint go away: from now on every request is answered by resetting its
// connection, as when AWS's endpoint, a VPN or a proxy on the way is lost mid-run.
func (p *Proxy) Unplug() { p.unplugged.Store(true) }

// dropConnection closes the client's connection with a reset instead of answering: the SDK sees
// a transport error and cannot know whether AWS carried the call out.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	conn.Close()
}
