package localstack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Faults are AWS's bad days, injected by the proxy; each test switches on the ones it needs with
// SetFaults. Every answer is one AWS documents, in the shape of the service's own protocol, so
// the SDK classifies it as it would on AWS.
//
// No fault depends on time, so a test can count on it: the rates are spread evenly over each
// protocol's calls, and AWS's eventual consistency answers "not yet" once, to the first call
// that meets it, as the strict layer (strict.go) does.
type Faults struct {
	// Seed picks where in its evenly spread sequence each protocol starts (a test logs it).
	Seed uint64
	// ThrottleRate is the share of calls answered with the service's throttling error:
	// EC2 RequestLimitExceeded (503), query services Throttling (400), JSON services
	// ThrottlingException (400), App Mesh TooManyRequestsException (429). Spread evenly, it
	// reaches every protocol within its first few calls (eight at a rate of 0.2).
	ThrottleRate float64
	// ServerErrorRate is the share of calls answered 500 or 503 (InternalError, Unavailable, ...).
	ServerErrorRate float64
	// NotFoundOnceAfterCreate: an EC2 or ELBv2 resource created through the proxy is "not
	// found" to the first call that names it by ID (not to tag or name filters), as EC2 answers
	// right after a create (InvalidVpcID.NotFound, InvalidSubnetID.NotFound, TargetGroupNotFound, ...).
	NotFoundOnceAfterCreate bool
	// DependencyViolationOnceAfterDelete: the next DeleteSubnet after a NAT gateway, load
	// balancer or ECS service delete (their network interfaces linger), the next
	// DeleteSecurityGroup after a load balancer or ECS service delete, and the next DeleteVpc
	// after its internet gateway is detached or a subnet or group deleted answer DependencyViolation.
	DependencyViolationOnceAfterDelete bool
	// RoleUnassumableOnceAfterCreate: ECS cannot assume an IAM role created through the proxy (IAM
	// is eventually consistent): the first CreateService or UpdateService that names it answers
	// InvalidParameterException "Unable to assume role ...".
	RoleUnassumableOnceAfterCreate bool
}

// The count-based faults' names, as FaultsFired counts them.
const (
	FaultNotFound            = "not found once after create"
	FaultDependencyViolation = "DependencyViolation once after a delete"
	FaultRoleUnassumable     = "role unassumable once after create"
)

// randomFaultAttempts is how many attempts of one call (the SDK's Amz-Sdk-Request header counts
// them) the rates may refuse: a later attempt goes through, so that no call runs out of its ten
// attempts by bad luck and a test checks tapctl's handling, not the dice.
const randomFaultAttempts = 3

// fault answers an operation with an AWS error a number of times before letting it through.
type fault struct {
	code      string
	remaining int
	injected  int
}

// faultState is the proxy's fault bookkeeping, under Proxy.mu.
type faultState struct {
	config     Faults
	sequences  map[string]*spread   // protocol -> where its calls are in their evenly spread draws
	armed      map[string]*fault    // operation -> counted failure (FailEC2)
	drops      map[string]int       // operation -> answers still to lose
	dropped    map[string]int       // operation -> answers lost
	injected   map[string]int       // "operation code" -> times answered with code
	fired      map[string]int       // count-based fault -> times it answered
	notYet     map[string]string    // ID or ARN just created -> its not-found code, until a call names it
	unassumed  map[string]bool      // role ARN just created -> ECS has not yet been refused it
	dependents map[string]bool      // "ec2:DeleteSubnet", ...: the next such delete answers DependencyViolation
	answers    map[string]*recorder // "service:Operation token" -> the first answer to that create
}

func newFaultState() faultState {
	return faultState{sequences: map[string]*spread{}, armed: map[string]*fault{}, drops: map[string]int{}, dropped: map[string]int{},
		injected: map[string]int{}, fired: map[string]int{}, notYet: map[string]string{}, unassumed: map[string]bool{},
		dependents: map[string]bool{}, answers: map[string]*recorder{}}
}

// SetFaults switches faults on (the zero Faults switches them off).
func (p *Proxy) SetFaults(f Faults) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults.config = f
	p.faults.sequences = map[string]*spread{}
}

// FaultsFired counts, by name (FaultNotFound, ...), the calls a count-based fault answered.
func (p *Proxy) FaultsFired() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for k, v := range p.faults.fired {
		out[k] = v
	}
	return out
}

// spread is a low-discrepancy sequence in [0, 1) (the fractional parts of start + n/φ): each
// interval gets its share of the draws, evenly, from the first draws on.
type spread struct {
	next  float64
	count int
}

const inverseGoldenRatio = 0.6180339887498949

func (s *spread) draw() float64 {
	x := s.next
	s.next = math.Mod(s.next+inverseGoldenRatio, 1)
	s.count++
	return x
}

// sequence is the protocol's spread, started where the seed says.
func (f *faultState) sequence(protocol string) *spread {
	s := f.sequences[protocol]
	if s == nil {
		name := fnv.New64a()
		name.Write([]byte(protocol))
		rng := rand.New(rand.NewPCG(f.config.Seed, name.Sum64()))
		s = &spread{next: rng.Float64()}
		f.sequences[protocol] = s
	}
	return s
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
	attempt     int    // which attempt of the SDK's call this is (1 when the header is missing)
}

var credentialScope = regexp.MustCompile(`Credential=[^/]+/\d+/[^/]+/([^/]+)/aws4_request`)

func newCall(r *http.Request, body []byte) call {
	c := call{op: operation(r, body), body: body, auth: r.Header.Get("Authorization"), attempt: attemptOf(r)}
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

var attemptNumber = regexp.MustCompile(`(?:^|;\s*)attempt=(\d+)`)

// attemptOf reads the SDK's attempt number ("Amz-Sdk-Request: attempt=2; max=10").
func attemptOf(r *http.Request) int {
	if m := attemptNumber.FindStringSubmatch(r.Header.Get("Amz-Sdk-Request")); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil {
			return n
		}
	}
	return 1
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
	if (cfg.ThrottleRate > 0 || cfg.ServerErrorRate > 0) && c.attempt <= randomFaultAttempts {
		s := f.sequence(c.protocol)
		switch x := s.draw(); {
		case x < cfg.ThrottleRate:
			return throttling(c.protocol), true
		case x < cfg.ThrottleRate+cfg.ServerErrorRate:
			return serverError(c.protocol, s.count%2 == 0), true
		}
	}
	if cfg.NotFoundOnceAfterCreate && (c.protocol == "ec2" || c.service == "elasticloadbalancing") {
		if id, code := f.namedNotYet(c.body); id != "" {
			delete(f.notYet, id)
			f.fired[FaultNotFound]++
			return awsError{http.StatusBadRequest, code, fmt.Sprintf("The ID '%s' does not exist", id)}, true
		}
	}
	if cfg.DependencyViolationOnceAfterDelete {
		if key := c.service + ":" + c.op; f.dependents[key] {
			delete(f.dependents, key)
			f.fired[FaultDependencyViolation]++
			return awsError{http.StatusBadRequest, "DependencyViolation", "resource has a dependent object"}, true
		}
	}
	if cfg.RoleUnassumableOnceAfterCreate && c.is("ecs:CreateService", "ecs:UpdateService") {
		for _, role := range slices.Sorted(maps.Keys(f.unassumed)) {
			if bytes.Contains(c.body, []byte(role)) {
				delete(f.unassumed, role)
				f.fired[FaultRoleUnassumable]++
				return awsError{http.StatusBadRequest, "InvalidParameterException",
					"Unable to assume role and validate the specified targetGroupArn. Please verify that the ECS service role being passed has the proper permissions."}, true
			}
		}
	}
	return awsError{}, false
}

// dependentsOf are the deletes AWS refuses with DependencyViolation right after each delete:
// network interfaces of a NAT gateway, load balancer or ECS service linger in their subnets and
// security groups; a VPC keeps its subnets and groups, and its internet gateway, for a moment.
var dependentsOf = map[string][]string{
	"ec2:DeleteNatGateway":                    {"ec2:DeleteSubnet"},
	"elasticloadbalancing:DeleteLoadBalancer": {"ec2:DeleteSubnet", "ec2:DeleteSecurityGroup"},
	"ecs:DeleteService":                       {"ec2:DeleteSubnet", "ec2:DeleteSecurityGroup"},
	"ec2:DetachInternetGateway":               {"ec2:DeleteVpc"},
	"ec2:DeleteSubnet":                        {"ec2:DeleteVpc"},
	"ec2:DeleteSecurityGroup":                 {"ec2:DeleteVpc"},
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
}

var createdRole = regexp.MustCompile(`<Arn>([^<]+)</Arn>`)

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
	p.faults.arm(c, body)
}

// arm notes, from a call the emulator carried out, what the count-based faults refuse next.
func (f *faultState) arm(c call, answer []byte) {
	key := c.service + ":" + c.op
	if f.config.DependencyViolationOnceAfterDelete {
		for _, dependent := range dependentsOf[key] {
			f.dependents[dependent] = true
		}
	}
	if k, ok := createdIDs[key]; ok && f.config.NotFoundOnceAfterCreate {
		if m := k.pattern.FindSubmatch(answer); m != nil {
			f.notYet[string(m[1])] = k.code
		}
	}
	if c.is("iam:CreateRole") && f.config.RoleUnassumableOnceAfterCreate {
		if m := createdRole.FindSubmatch(answer); m != nil {
			f.unassumed[string(m[1])] = true
		}
	}
}

// namedNotYet finds an ID just created that the request names (not in a filter), with its
// not-found code.
func (f *faultState) namedNotYet(body []byte) (string, string) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "", ""
	}
	for _, k := range slices.Sorted(maps.Keys(form)) {
		if strings.HasPrefix(k, "Filter.") {
			continue
		}
		for _, v := range form[k] {
			if code, ok := f.notYet[v]; ok {
				return v, code
			}
		}
	}
	return "", ""
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
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0)
	}
	conn.Close()
}
