package localstack

import (
	"net/http"
	"regexp"
	"strings"
	"sync"
)

// moto's CreateListener looks for the port among the load balancer's listener ARNs (elbv2
// models.py: `if port in balancer.listeners`), so it never refuses a second listener on a port;
// AWS does: DuplicateListener, "A listener with the specified port already exists" (ELBv2 API
// Reference, CreateListener). Two overlay environments made side by side would share a port.
// The emulator is shared by every proxy of a test binary, so the listeners it holds are kept
// here, for all of them, from the calls they carried: a CreateListener on a port held is
// refused as AWS refuses it. The calls that change listeners go one at a time, so that the
// check and the create are one step, as they are in AWS.
var listenerPorts = struct {
	sync.Mutex
	held map[string]string // load balancer ARN + "|" + port -> listener ARN
}{held: map[string]string{}}

var listenerARN = regexp.MustCompile(`<ListenerArn>([^<]+)</ListenerArn>`)

// guardListeners, for a call that changes listeners, holds the lock until done is called with
// the emulator's answer; a CreateListener on a port held is refused instead.
func guardListeners(c call) (done func(status int, answer []byte), refused *awsError) {
	if c.service != "elasticloadbalancing" || !c.is("CreateListener", "DeleteListener", "DeleteLoadBalancer") {
		return func(int, []byte) {}, nil
	}
	listenerPorts.Lock()
	key := formValue(c.body, "LoadBalancerArn") + "|" + formValue(c.body, "Port")
	if c.is("CreateListener") && listenerPorts.held[key] != "" {
		listenerPorts.Unlock()
		return nil, &awsError{http.StatusBadRequest, "DuplicateListener", "A listener with the specified port already exists."}
	}
	return func(status int, answer []byte) {
		defer listenerPorts.Unlock()
		if status != http.StatusOK {
			return
		}
		switch {
		case c.is("CreateListener"):
			if m := listenerARN.FindSubmatch(answer); m != nil {
				listenerPorts.held[key] = string(m[1])
			}
		case c.is("DeleteListener"):
			for k, arn := range listenerPorts.held {
				if arn == formValue(c.body, "ListenerArn") {
					delete(listenerPorts.held, k)
				}
			}
		case c.is("DeleteLoadBalancer"):
			for k := range listenerPorts.held {
				if strings.HasPrefix(k, formValue(c.body, "LoadBalancerArn")+"|") {
					delete(listenerPorts.held, k)
				}
			}
		}
	}, nil
}
