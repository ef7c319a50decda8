package localstack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy stands between tapctl and the emulator, on a loopback port, for what the emulator
// cannot do on its own. It changes test conditions only; tapctl talks to it as to AWS.
//   - moto writes App Mesh timestamps as strings ("25/11/2026, 01:02:31") where AWS and the
//     SDK use epoch numbers: the proxy rewrites them.
//   - moto has no App Mesh virtual services: the proxy answers those operations itself; nor
//     tags for Application Auto Scaling (autoscaling_tags.go).
//   - moto forgives what AWS refuses: the strict layer (strict.go) answers as AWS does.
//   - moto's VPC and Elastic IP quotas are AWS's defaults, too few for the tests side by side:
//     the proxy answers raised ones (quotas.go).
//   - moto runs no tasks: ReportDeployment (deployments.go) says how a deployment ends.
//   - AppMeshDiscontinued makes every App Mesh call answer as a discontinued API would.
//   - Timing (timing.go) adds latency and AWS's slow transitions.
//   - Faults (faults.go) inject throttling, server errors, lost answers and AWS's eventual
//     consistency; FailEC2 injects chosen EC2 errors.
//   - moto ignores idempotency tokens: the proxy honours them as AWS does (idempotency.go).
//   - moto's ECS describes share one include=TAGS switch among concurrent requests: the proxy
//     always asks for tags and drops them where the caller did not (ecs_tags.go).
type Proxy struct {
	URL                 string
	AppMeshDiscontinued atomic.Bool
	unplugged           atomic.Bool // Unplug (faults.go)
	// Strict makes the emulator answer as AWS does where moto forgives (strict.go); on unless a
	// test switches it off.
	Strict atomic.Bool
	// RaisedQuotas answers the VPC and Elastic IP quotas as a raised account does (quotas.go);
	// on unless a test switches it off.
	RaisedQuotas atomic.Bool

	// Trace, when set before the first call, gets one line per call answered: when it arrived,
	// its operation, status and how long the proxy took (the timingproxy command's -trace).
	Trace io.Writer

	upstream *url.URL
	server   *http.Server
	rp       *httputil.ReverseProxy

	mu              sync.Mutex
	virtualServices map[string]map[string]*virtualService // mesh -> name -> service
	timing          Timing
	created         map[string]time.Time         // IDs of resources the timing model slows down
	faults          faultState                   // faults.go
	strict          strictState                  // strict.go
	autoScalingTags map[string]map[string]string // autoscaling_tags.go
	deployments     map[string]DeploymentReport  // deployments.go: by ECS service name

	health  *healthModel  // timing_health.go: target health, and the holds a test sets
	network *networkUsers // timing_down.go: what deleted owners' interfaces still hold
	kill    *killPoint    // killpoint.go: the mutating calls carried out, and the armed kill point
}

type virtualService struct {
	MeshName           string          `json:"meshName"`
	VirtualServiceName string          `json:"virtualServiceName"`
	Spec               json.RawMessage `json:"spec"`
	Metadata           map[string]any  `json:"metadata"`
	Status             map[string]any  `json:"status"`
}

// StartProxy listens on a free 127.0.0.1 port and forwards to upstream.
func StartProxy(upstream string) (*Proxy, error) {
	return startProxyOn("127.0.0.1:0", upstream)
}

func startProxyOn(addr, upstream string) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &Proxy{URL: "http://" + l.Addr().String(), upstream: u, virtualServices: map[string]map[string]*virtualService{},
		created: map[string]time.Time{}, faults: newFaultState(), strict: newStrictState(), autoScalingTags: map[string]map[string]string{},
		kill: newKillPoint(), health: newHealthModel(), network: newNetworkUsers()}
	p.Strict.Store(true)
	p.RaisedQuotas.Store(true)
	p.rp = httputil.NewSingleHostReverseProxy(u)
	p.rp.ModifyResponse = p.fixAppMeshTimestamps
	p.server = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go p.server.Serve(l)
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() error { return p.server.Close() }

const appMeshPrefix = "/v20190125/meshes"

var virtualServicePath = regexp.MustCompile(`^/v20190125/meshes/([^/]+)/virtualServices(?:/([^/]+))?$`)

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.unplugged.Load() {
		dropConnection(w)
		return
	}
	if strings.HasPrefix(r.URL.Path, appMeshPrefix) {
		if p.AppMeshDiscontinued.Load() {
			writeAppMeshError(w, http.StatusNotFound, "UnknownOperationException", "App Mesh is not available")
			return
		}
		if m := virtualServicePath.FindStringSubmatch(r.URL.Path); m != nil {
			p.serveVirtualService(w, r, m[1], m[2])
			return
		}
	}
	if p.serveAutoScalingTags(w, r) || p.serveServiceDeployments(w, r) {
		return
	}
	p.timed(w, r)
}

var motoTimestamp = regexp.MustCompile(`"(createdAt|lastUpdatedAt)"\s*:\s*"(\d{2})/(\d{2})/(\d{4}), (\d{2}):(\d{2}):(\d{2})"`)

func (p *Proxy) fixAppMeshTimestamps(resp *http.Response) error {
	if !strings.HasPrefix(resp.Request.URL.Path, appMeshPrefix) {
		return nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	body = motoTimestamp.ReplaceAllFunc(body, func(m []byte) []byte {
		g := motoTimestamp.FindSubmatch(m)
		n := func(i int) int { v, _ := strconv.Atoi(string(g[i])); return v }
		ts := time.Date(n(4), time.Month(n(3)), n(2), n(5), n(6), n(7), 0, time.UTC)
		return []byte(fmt.Sprintf("%q:%d", g[1], ts.Unix()))
	})
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

func writeAppMeshError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// serveVirtualService speaks App Mesh's virtual-service operations from memory.
func (p *Proxy) serveVirtualService(w http.ResponseWriter, r *http.Request, mesh, name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	services := p.virtualServices[mesh]
	if services == nil {
		services = map[string]*virtualService{}
		p.virtualServices[mesh] = services
	}
	switch {
	case r.Method == http.MethodPut && name == "": // CreateVirtualService
		var in struct {
			VirtualServiceName string          `json:"virtualServiceName"`
			Spec               json.RawMessage `json:"spec"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.VirtualServiceName == "" {
			writeAppMeshError(w, http.StatusBadRequest, "BadRequestException", "bad virtual service")
			return
		}
		if _, exists := services[in.VirtualServiceName]; exists {
			writeAppMeshError(w, http.StatusConflict, "ConflictException", "virtual service exists")
			return
		}
		now := time.Now().Unix()
		vs := &virtualService{
			MeshName: mesh, VirtualServiceName: in.VirtualServiceName, Spec: in.Spec,
			Metadata: map[string]any{
				"arn":       "arn:aws:appmesh:us-east-1:123456789012:mesh/" + mesh + "/virtualService/" + in.VirtualServiceName,
				"createdAt": now, "lastUpdatedAt": now, "meshOwner": "123456789012", "resourceOwner": "123456789012",
				"uid": fmt.Sprintf("vs-%d", now), "version": 1,
			},
			Status: map[string]any{"status": "ACTIVE"},
		}
		services[in.VirtualServiceName] = vs
		writeJSON(w, vs)
	case r.Method == http.MethodGet && name == "": // ListVirtualServices
		var refs []map[string]any
		for _, vs := range services {
			refs = append(refs, map[string]any{"meshName": mesh, "virtualServiceName": vs.VirtualServiceName, "arn": vs.Metadata["arn"]})
		}
		writeJSON(w, map[string]any{"virtualServices": refs})
	case name != "":
		vs, ok := services[name]
		if !ok {
			writeAppMeshError(w, http.StatusNotFound, "NotFoundException", "virtual service "+name+" not found")
			return
		}
		switch r.Method {
		case http.MethodGet: // DescribeVirtualService
		case http.MethodPut: // UpdateVirtualService
			var in struct {
				Spec json.RawMessage `json:"spec"`
			}
			json.NewDecoder(r.Body).Decode(&in)
			vs.Spec = in.Spec
			vs.Metadata["lastUpdatedAt"] = time.Now().Unix()
		case http.MethodDelete: // DeleteVirtualService
			delete(services, name)
			vs.Status = map[string]any{"status": "DELETED"}
		}
		writeJSON(w, vs)
	default:
		writeAppMeshError(w, http.StatusBadRequest, "BadRequestException", "unsupported")
	}
}

// VirtualServiceNames lists the virtual services the proxy holds for a mesh (for assertions).
func (p *Proxy) VirtualServiceNames(mesh string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for name := range p.virtualServices[mesh] {
		out = append(out, name)
	}
	return out
}
