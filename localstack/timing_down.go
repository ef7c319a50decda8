package localstack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// The timing model of down: moto deletes at once; AWS does not. Each figure is at factor 1.
const (
	// A deleted ECS service stays DRAINING while its tasks leave the load balancer (the target
	// group's deregistration delay, 30 s in tapctl's groups, SPEC row 19) and then stop (SIGTERM,
	// then SIGKILL after the container's stopTimeout, 30 s by default): ECS developer guide,
	// "DeleteService": "the service status moves from ACTIVE to DRAINING … After all tasks have
	// transitioned to either STOPPING or STOPPED status, the service status moves from DRAINING
	// to INACTIVE".
	serviceDrainSeconds = 60
	// A deleted NAT gateway is "deleting" for about a minute before "deleted" (issue 17's figure;
	// the VPC user guide gives the states, not the time).
	natDeletingSeconds = 60
	// A load balancer's network interfaces outlive it: "ALB automatically creates ENI(s) on
	// creation but the cleanup is asynchronous and may take time which then blocks IGW, SG or
	// VPC on deletion" (terraform-provider-aws, internal/service/elbv2/load_balancer.go,
	// cleanupALBNetworkInterfaces). AWS gives no figure; modeled as a minute.
	albENILingerSeconds = 60
	// A Fargate task's interface is detached and deleted while the task deprovisions, after the
	// service already shows INACTIVE (its tasks are STOPPING): ECS developer guide, "Task
	// lifecycle" (DEPROVISIONING). Modeled as 30 s after the drain.
	taskENILingerSeconds = 30
)

// networkUsers: what the model knows of the subnets and groups that deleted load balancers'
// and services' network interfaces still hold, and until when.
type networkUsers struct {
	mu       sync.Mutex
	lbNets   map[string][]string  // load balancer ARN -> its subnets and security groups
	lbGone   map[string]time.Time // "app/NAME/ID" of a deleted load balancer -> until its interfaces linger
	lingers  map[string]time.Time // subnet or group ID -> until when a deleted owner's interface holds it
	deleting map[string]time.Time // NAT gateway ID or ECS service ARN -> when it was deleted
}

func newNetworkUsers() *networkUsers {
	return &networkUsers{lbNets: map[string][]string{}, lbGone: map[string]time.Time{}, lingers: map[string]time.Time{}, deleting: map[string]time.Time{}}
}

var (
	subnetOrGroup = regexp.MustCompile(`(?:<SubnetId>|<member>)((?:subnet|sg)-[0-9a-f]+)<`)
	natDeleted    = []byte("<state>deleted</state>")
)

// rewriteDown is the down half of rewriteSlow: it notes deletions and answers with the states
// AWS shows meanwhile. Called only when the model is on (Factor > 0).
func (p *Proxy) rewriteDown(c call, body []byte) []byte {
	n := p.network
	now := time.Now()
	switch c.op {
	case "CreateLoadBalancer", "DescribeLoadBalancers":
		// Each load balancer's subnets and groups follow its ARN, up to the next one's.
		locs := albARNPattern.FindAllSubmatchIndex(body, -1)
		n.mu.Lock()
		for i, loc := range locs {
			end := len(body)
			if i+1 < len(locs) {
				end = locs[i+1][0]
			}
			var nets []string
			for _, id := range subnetOrGroup.FindAllSubmatch(body[loc[1]:end], -1) {
				nets = append(nets, string(id[1]))
			}
			n.lbNets[string(body[loc[2]:loc[3]])] = nets
		}
		n.mu.Unlock()
	case "DeleteLoadBalancer":
		q, _ := url.ParseQuery(string(c.body))
		arn, until := q.Get("LoadBalancerArn"), now.Add(p.slowFor(albENILingerSeconds))
		n.mu.Lock()
		for _, id := range n.lbNets[arn] {
			n.holdUntil(id, until)
		}
		if _, id, ok := strings.Cut(arn, ":loadbalancer/"); ok {
			n.lbGone[id] = until
		}
		n.mu.Unlock()
	case "DescribeNetworkInterfaces":
		// A deleted load balancer's interfaces, looked up by their description, while they linger.
		q, _ := url.ParseQuery(string(c.body))
		for k, v := range q {
			if strings.HasSuffix(k, ".Name") && v[0] == "description" {
				if desc := q.Get(strings.TrimSuffix(k, "Name") + "Value.1"); strings.HasPrefix(desc, "ELB ") {
					return n.lingeringInterfaces(strings.TrimPrefix(desc, "ELB "), body)
				}
			}
		}
	case "DeleteService":
		var doc struct{ Service ecsServiceNetwork }
		if json.Unmarshal(body, &doc) == nil && doc.Service.ServiceArn != "" {
			n.mu.Lock()
			n.deleting[doc.Service.ServiceArn] = now
			cfg := doc.Service.NetworkConfiguration.AwsvpcConfiguration
			for _, id := range append(cfg.Subnets, cfg.SecurityGroups...) {
				n.holdUntil(id, now.Add(p.slowFor(serviceDrainSeconds+taskENILingerSeconds)))
			}
			n.mu.Unlock()
		}
	case "DescribeServices":
		return p.rewriteJSON(body, func(doc map[string]any) {
			services, _ := doc["services"].([]any)
			for _, s := range services {
				svc, _ := s.(map[string]any)
				arn, _ := svc["serviceArn"].(string)
				if svc != nil && svc["status"] == "INACTIVE" && n.deletedWithin(arn, p.slowFor(serviceDrainSeconds)) {
					svc["status"] = "DRAINING"
				}
			}
		})
	case "DeleteNatGateway":
		q, _ := url.ParseQuery(string(c.body))
		n.mu.Lock()
		n.deleting[q.Get("NatGatewayId")] = now
		n.mu.Unlock()
	case "DescribeNatGateways":
		var out bytes.Buffer
		last := 0
		locs := natIDPattern.FindAllSubmatchIndex(body, -1)
		for i, loc := range locs {
			end := len(body)
			if i+1 < len(locs) {
				end = locs[i+1][0]
			}
			if !n.deletedWithin(string(body[loc[2]:loc[3]]), p.slowFor(natDeletingSeconds)) {
				continue
			}
			if j := bytes.Index(body[loc[1]:end], natDeleted); j >= 0 {
				out.Write(body[last : loc[1]+j])
				out.WriteString("<state>deleting</state>")
				last = loc[1] + j + len(natDeleted)
			}
		}
		out.Write(body[last:])
		return out.Bytes()
	}
	return body
}

type ecsServiceNetwork struct {
	ServiceArn           string `json:"serviceArn"`
	NetworkConfiguration struct {
		AwsvpcConfiguration struct {
			Subnets        []string `json:"subnets"`
			SecurityGroups []string `json:"securityGroups"`
		} `json:"awsvpcConfiguration"`
	} `json:"networkConfiguration"`
}

// lingeringInterfaces answers DescribeNetworkInterfaces for a deleted load balancer's
// interfaces: one per subnet it was in, until they are gone; else the emulator's answer.
func (n *networkUsers) lingeringInterfaces(lb string, body []byte) []byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	until, ok := n.lbGone[lb]
	if !ok || !time.Now().Before(until) {
		return body
	}
	var b strings.Builder
	b.WriteString(`<DescribeNetworkInterfacesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>tapctl-timing-model</requestId><networkInterfaceSet>`)
	for arn, nets := range n.lbNets {
		if !strings.HasSuffix(arn, "/"+lb) {
			continue
		}
		for i, id := range nets {
			if strings.HasPrefix(id, "subnet-") {
				fmt.Fprintf(&b, `<item><networkInterfaceId>eni-%08x%d</networkInterfaceId><subnetId>%s</subnetId><description>ELB %s</description><status>in-use</status><interfaceType>interface</interfaceType></item>`, len(lb), i, id, lb)
			}
		}
	}
	b.WriteString(`</networkInterfaceSet></DescribeNetworkInterfacesResponse>`)
	return []byte(b.String())
}

// holdUntil keeps the later of two linger ends. Called with n.mu held.
func (n *networkUsers) holdUntil(id string, until time.Time) {
	if until.After(n.lingers[id]) {
		n.lingers[id] = until
	}
}

func (n *networkUsers) deletedWithin(id string, d time.Duration) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	at, ok := n.deleting[id]
	return ok && time.Since(at) < d
}

// stillInUse refuses, as AWS does, to delete a subnet or security group that a deleted load
// balancer's or task's network interface still holds.
func (p *Proxy) stillInUse(c call) (awsError, bool) {
	if p.timing.Factor <= 0 || c.op != "DeleteSubnet" && c.op != "DeleteSecurityGroup" {
		return awsError{}, false
	}
	q, _ := url.ParseQuery(string(c.body))
	id := q.Get("SubnetId")
	if id == "" {
		id = q.Get("GroupId")
	}
	n := p.network
	n.mu.Lock()
	defer n.mu.Unlock()
	if until, ok := n.lingers[id]; ok && time.Now().Before(until) {
		kind := "subnet"
		if strings.HasPrefix(id, "sg-") {
			kind = "resource"
		}
		return awsError{status: http.StatusBadRequest, code: "DependencyViolation",
			message: "The " + kind + " '" + id + "' has dependencies and cannot be deleted."}, true
	}
	return awsError{}, false
}
