package localstack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// The strict-AWS layer makes the emulator answer as AWS does where moto forgives: it refuses
// what AWS refuses and makes a resource just created "not there yet" to the first call that
// needs it, as AWS's eventual consistency does. It is on in every proxy (and so in every
// integration test: Endpoint is a strict proxy in front of moto); a test that needs moto's bare
// behaviour opts out by name with Proxy.Strict.Store(false) or BareEndpoint.
//
// AWS gives no figure for how long "not yet" lasts; the layer answers the first call that names
// a new resource with the error and lets the next through. That is deterministic (a test can
// count on the rule firing) and costs one retry each.
type strictRule struct {
	name   string
	source string // the AWS document the behaviour comes from
	// arm notes, from a call the emulator carried out, what the rule refuses later.
	arm func(s *strictState, c call, answer []byte)
	// refuse answers a call as AWS would, when it would.
	refuse func(s *strictState, c call) (awsError, bool)
	// rewrite, when set, changes the emulator's answer into AWS's (a state moto never reaches).
	rewrite func(s *strictState, c call, answer []byte) []byte
}

var strictRules = []strictRule{
	{
		name:   "tags on an existing scalable target",
		source: "Application Auto Scaling API Reference, RegisterScalableTarget, Tags: \"if you specify tags for an existing scalable target, the request fails\"; use TagResource",
		arm: func(s *strictState, c call, _ []byte) {
			key := jsonString(c.body, "ResourceId") + "|" + jsonString(c.body, "ScalableDimension")
			switch {
			case c.is("application-autoscaling:RegisterScalableTarget"):
				s.scalableTargets[key] = true
			case c.is("application-autoscaling:DeregisterScalableTarget"):
				delete(s.scalableTargets, key)
			}
		},
		refuse: func(s *strictState, c call) (awsError, bool) {
			key := jsonString(c.body, "ResourceId") + "|" + jsonString(c.body, "ScalableDimension")
			if c.is("application-autoscaling:RegisterScalableTarget") && s.scalableTargets[key] && jsonHas(c.body, "Tags") {
				return awsError{http.StatusBadRequest, "ValidationException",
					"The scalable target that you tried to tag already exists. To update tags on an existing scalable target, use the TagResource API."}, true
			}
			return awsError{}, false
		},
	},
	{
		name:   "a secret name right after a force-delete",
		source: "Secrets Manager API Reference, DeleteSecret: a secret deleted without recovery may take a moment to go; creating one of that name fails meanwhile (\"use back-off and retry\")",
		arm: func(s *strictState, c call, answer []byte) {
			if c.is("secretsmanager:DeleteSecret") && jsonBool(c.body, "ForceDeleteWithoutRecovery") {
				s.arm("secretsmanager:CreateSecret/name", jsonString(answer, "Name"))
			}
		},
		refuse: func(s *strictState, c call) (awsError, bool) {
			if c.is("secretsmanager:CreateSecret") && s.fire("secretsmanager:CreateSecret/name", jsonString(c.body, "Name")) {
				return awsError{http.StatusBadRequest, "InvalidRequestException",
					"You can't create this secret because a secret with this name is already scheduled for deletion."}, true
			}
			return awsError{}, false
		},
	},
	{
		// ECS checks a new service's cluster, target groups and roles; right after any of them
		// was made, it answers that one "not yet". One answer per call, taking turns, so that a
		// fresh up of three services meets all three answers (and pays three short waits, not
		// nine).
		name: "ECS CreateService right after its cluster, listener rule or role",
		source: "Amazon ECS API Reference, CreateService (ClusterNotFoundException; InvalidParameterException for a target group " +
			"without a load balancer, and \"Unable to assume role\"), and \"Request eventual consistency\"; terraform-provider-aws " +
			"retries these on aws_ecs_service create",
		arm: func(s *strictState, c call, answer []byte) {
			switch {
			case c.is("ecs:CreateCluster"):
				s.arm("ecs:CreateService/cluster", jsonString(answer, "cluster", "clusterName"))
			case c.is("elasticloadbalancing:CreateRule", "elasticloadbalancing:ModifyRule"):
				for _, tg := range formValuesLike(c.body, "TargetGroupArn") {
					s.arm("ecs:CreateService/target-group", tg)
				}
			case c.is("iam:CreateRole"):
				if m := regexp.MustCompile(`<Arn>([^<]+)</Arn>`).FindSubmatch(answer); m != nil {
					s.arm("ecs:CreateService/role", string(m[1]))
				}
			}
		},
		refuse: func(s *strictState, c call) (awsError, bool) {
			if !c.is("ecs:CreateService") {
				return awsError{}, false
			}
			young := [3]string{}
			if cluster := clusterName(jsonString(c.body, "cluster")); s.armed["ecs:CreateService/cluster|"+cluster] {
				young[0] = cluster
			}
			for _, tg := range targetGroupsOf(c.body) {
				if s.armed["ecs:CreateService/target-group|"+tg] {
					young[1] = tg
				}
			}
			if roles := s.armedIn("ecs:CreateService/role", c.body); len(roles) > 0 {
				young[2] = roles[0]
			}
			for i := range 3 {
				k := (s.turn + i) % 3
				if young[k] == "" {
					continue
				}
				s.turn = k + 1
				s.fired["ECS CreateService: "+[]string{"cluster", "listener rule", "role"}[k]]++
				switch k {
				case 0:
					return awsError{http.StatusBadRequest, "ClusterNotFoundException", "Cluster not found."}, true
				case 1:
					return awsError{http.StatusBadRequest, "InvalidParameterException",
						fmt.Sprintf("The target group with targetGroupArn %s does not have an associated load balancer.", young[1])}, true
				}
				return awsError{http.StatusBadRequest, "InvalidParameterException",
					"Unable to assume role and validate the listeners configured on your load balancer. Please verify that the ECS service role being passed has the proper permissions."}, true
			}
			return awsError{}, false
		},
	},
	{
		name:   "an ECS service just created",
		source: "Application Auto Scaling API Reference, RegisterScalableTarget, ValidationException; ECS is eventually consistent (terraform-provider-aws retries \"ECS service doesn't exist\" on aws_appautoscaling_target)",
		arm: func(s *strictState, c call, answer []byte) {
			if c.is("ecs:CreateService") {
				cluster := clusterName(jsonString(answer, "service", "clusterArn"))
				s.arm("application-autoscaling:RegisterScalableTarget/service", "service/"+cluster+"/"+jsonString(answer, "service", "serviceName"))
			}
		},
		refuse: func(s *strictState, c call) (awsError, bool) {
			id := jsonString(c.body, "ResourceId")
			if c.is("application-autoscaling:RegisterScalableTarget") && s.fire("application-autoscaling:RegisterScalableTarget/service", id) {
				return awsError{http.StatusBadRequest, "ValidationException", "ECS service doesn't exist: " + id}, true
			}
			return awsError{}, false
		},
	},
	{
		name:   "a KMS key just created",
		source: "AWS KMS Developer Guide, \"Eventual consistency\": a key just created may not be usable at once by KMS operations or by services (CloudWatch Logs)",
		arm: func(s *strictState, c call, answer []byte) {
			if c.is("kms:CreateKey") {
				for _, op := range []string{"kms:EnableKeyRotation", "kms:CreateAlias", "logs:CreateLogGroup"} {
					s.arm(op+"/key", jsonString(answer, "KeyMetadata", "KeyId"))
				}
			}
		},
		refuse: func(s *strictState, c call) (awsError, bool) {
			var key string
			switch {
			case c.is("kms:EnableKeyRotation"):
				key = jsonString(c.body, "KeyId")
			case c.is("kms:CreateAlias"):
				key = jsonString(c.body, "TargetKeyId")
			case c.is("logs:CreateLogGroup"):
				key = jsonString(c.body, "kmsKeyId")
			default:
				return awsError{}, false
			}
			if !s.fire(c.service+":"+c.op+"/key", keyID(key)) {
				return awsError{}, false
			}
			if c.op == "CreateLogGroup" {
				return awsError{http.StatusBadRequest, "InvalidParameterException",
					"The specified KMS key does not exist or is not allowed to be used with Arn '" + key + "'"}, true
			}
			return awsError{http.StatusBadRequest, "NotFoundException", "Key '" + key + "' does not exist"}, true
		},
	},
	{
		name:   "a route to a NAT gateway just created",
		source: "Amazon EC2 API Reference, \"Eventual consistency\"; CreateRoute answers InvalidNatGatewayID.NotFound meanwhile",
		arm: func(s *strictState, c call, answer []byte) {
			if c.is("ec2:CreateNatGateway") {
				if m := regexp.MustCompile(`<natGatewayId>([^<]+)</natGatewayId>`).FindSubmatch(answer); m != nil {
					s.arm("ec2:CreateRoute/nat", string(m[1]))
					s.arm("ec2:ReplaceRoute/nat", string(m[1]))
				}
			}
		},
		refuse: func(s *strictState, c call) (awsError, bool) {
			nat := formValue(c.body, "NatGatewayId")
			if c.is("ec2:CreateRoute", "ec2:ReplaceRoute") && s.fire(c.service+":"+c.op+"/nat", nat) {
				return awsError{http.StatusBadRequest, "InvalidNatGatewayID.NotFound", "The natGateway ID '" + nat + "' does not exist"}, true
			}
			return awsError{}, false
		},
	},
	{
		// The first gateway made with an address fails; the next one works. Cheap (one more
		// create in a fresh up) and certain, so every fresh up of the suite meets it.
		name: RuleNATFailsOnce,
		source: "Amazon VPC User Guide, \"Troubleshoot NAT gateways\": a NAT gateway can go to state failed " +
			"(InternalError: \"... Please try again\") and the remedy is to create another; EC2 API Reference, " +
			"NatGateway (state, failureCode, failureMessage) and CreateNatGateway (ClientToken: a resend gets the first answer's gateway)",
		arm: func(s *strictState, c call, answer []byte) {
			alloc, id := formValue(c.body, "AllocationId"), natIDOf(answer)
			if !c.is("ec2:CreateNatGateway") || alloc == "" || id == "" || s.natAllocations[alloc] {
				return
			}
			s.natAllocations[alloc] = true
			s.failingNATs[id] = false // its create answer has not gone out yet
		},
		rewrite: func(s *strictState, c call, answer []byte) []byte {
			switch {
			case c.is("ec2:CreateNatGateway"):
				id := natIDOf(answer)
				answered, failing := s.failingNATs[id]
				if !failing {
					return answer
				}
				if !answered { // AWS's create answer: pending
					s.failingNATs[id] = true
					return setNATState(answer, id, "pending", "")
				}
				s.fired[RuleNATFailsOnce]++ // a resend of its token: the gateway as it is now
				return setNATState(answer, id, "failed", natFailureFields)
			case c.is("ec2:DescribeNatGateways"):
				for _, n := range natItems(answer) {
					if _, failing := s.failingNATs[n.ID]; failing && (n.State == "pending" || n.State == "available") {
						s.fired[RuleNATFailsOnce]++
						answer = setNATState(answer, n.ID, "failed", natFailureFields)
					}
				}
			}
			return answer
		},
	},
	{
		// moto deletes a gateway at once and keeps its address associated for good; AWS shows
		// it deleting for a while, frees the address once it is deleted. The proxy shows the
		// first describe after the delete "deleting", refuses the address until a describe has
		// shown the gateway deleted, and then frees it in the emulator. A failed gateway is not
		// held: AWS documents no such wait for it (tapctl waits for its deletion either way).
		name: RuleNATHoldsAddress,
		source: "EC2 API Reference, DeleteNatGateway (\"Deleting a public NAT gateway disassociates its Elastic IP address\") " +
			"and NatGateway (deleting: \"in the process of being terminated\"); an address still associated is refused: " +
			"Resource.AlreadyAssociated (\"Elastic IP address eipalloc-xxxxxxxx is already associated\")",
		arm: func(s *strictState, c call, answer []byte) {
			switch {
			case c.is("ec2:CreateNatGateway"):
				s.learnNATs(answer)
			case c.is("ec2:DeleteNatGateway"):
				id := formValue(c.body, "NatGatewayId")
				addr := s.natAddresses[id]
				if addr.association != "" {
					s.frees = append(s.frees, addr.association)
				}
				if _, failed := s.failingNATs[id]; !failed && addr.allocation != "" {
					s.heldBy[addr.allocation] = id
					s.deleting[id] = true
				}
			}
		},
		refuse: func(s *strictState, c call) (awsError, bool) {
			alloc := formValue(c.body, "AllocationId")
			if c.is("ec2:CreateNatGateway") && s.heldBy[alloc] != "" {
				return awsError{http.StatusBadRequest, "Resource.AlreadyAssociated", "Elastic IP address " + alloc + " is already associated"}, true
			}
			return awsError{}, false
		},
		rewrite: func(s *strictState, c call, answer []byte) []byte {
			if !c.is("ec2:DescribeNatGateways") {
				return answer
			}
			s.learnNATs(answer)
			for _, n := range natItems(answer) {
				alloc := s.natAddresses[n.ID].allocation
				if n.State != "deleted" || s.heldBy[alloc] != n.ID {
					continue
				}
				if s.deleting[n.ID] { // the first describe after the delete
					delete(s.deleting, n.ID)
					s.fired[RuleNATHoldsAddress]++
					answer = setNATState(answer, n.ID, "deleting", "")
					continue
				}
				delete(s.heldBy, alloc)
			}
			return answer
		},
	},
	{
		// moto releases an address its NAT gateway still holds; AWS refuses until the gateway is
		// deleted. Fired by a run that releases an address before it has seen its gateway deleted.
		name: RuleAddressReleasedWhileHeld,
		source: "EC2 API Reference, ReleaseAddress (\"you must disassociate the Elastic IP address before you can release it\"; " +
			"a NAT gateway's address is disassociated when the gateway is deleted, DeleteNatGateway): InvalidIPAddress.InUse",
		refuse: func(s *strictState, c call) (awsError, bool) {
			alloc := formValue(c.body, "AllocationId")
			if c.is("ec2:ReleaseAddress") && s.heldBy[alloc] != "" {
				return awsError{http.StatusBadRequest, "InvalidIPAddress.InUse", "Address " + alloc + " is in use"}, true
			}
			return awsError{}, false
		},
	},
}

// The NAT gateway rules' names, as StrictFired counts them.
const (
	// RuleAddressReleasedWhileHeld: ReleaseAddress of an address a deleting NAT gateway holds.
	RuleAddressReleasedWhileHeld = "an address released while its NAT gateway holds it"
	// RuleNATFailsOnce: the first NAT gateway made with an address reads failed.
	RuleNATFailsOnce = "a NAT gateway that fails once"
	// RuleNATHoldsAddress: a deleted NAT gateway reads deleting once and holds its address
	// until a describe has shown it deleted.
	RuleNATHoldsAddress = "an address still held by a deleting NAT gateway"
)

// strictState is what the rules remember, under Proxy.mu.
type strictState struct {
	scalableTargets map[string]bool
	armed           map[string]bool // "service:Operation/what|id": the next such call naming id is answered "not yet"
	turn            int             // which of its young dependencies ECS names next
	fired           map[string]int  // rule name -> times it answered

	natAllocations map[string]bool       // addresses a NAT gateway was created with
	failingNATs    map[string]bool       // NAT gateway that fails -> its create answer went out
	natAddresses   map[string]natAddress // NAT gateway -> its address, from the answers seen
	heldBy         map[string]string     // allocation -> the deleted NAT gateway that still holds it
	deleting       map[string]bool       // deleted NAT gateway not described since
	frees          []string              // address associations the emulator is to drop (strict_nat.go)
}

func newStrictState() strictState {
	return strictState{scalableTargets: map[string]bool{}, armed: map[string]bool{}, fired: map[string]int{},
		natAllocations: map[string]bool{}, failingNATs: map[string]bool{}, natAddresses: map[string]natAddress{},
		heldBy: map[string]string{}, deleting: map[string]bool{}}
}

func (s *strictState) arm(kind, id string) {
	if id != "" {
		s.armed[kind+"|"+id] = true
	}
}

// fire reports whether id is armed for kind, disarming it.
func (s *strictState) fire(kind, id string) bool {
	if id == "" || !s.armed[kind+"|"+id] {
		return false
	}
	delete(s.armed, kind+"|"+id)
	return true
}

// armedIn lists the armed IDs of kind that body names.
func (s *strictState) armedIn(kind string, body []byte) []string {
	var out []string
	for k := range s.armed {
		if id, ok := strings.CutPrefix(k, kind+"|"); ok && strings.Contains(string(body), id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// strictBefore answers a call as AWS would refuse it; strictAfter arms the rules with what the
// emulator carried out. Both run under p.mu.
func (p *Proxy) strictBefore(c call) (awsError, bool) {
	if !p.Strict.Load() {
		return awsError{}, false
	}
	for _, r := range strictRules {
		if r.refuse == nil {
			continue
		}
		if e, ok := r.refuse(&p.strict, c); ok {
			p.strict.fired[r.name]++
			// AWS answers one error per call, and by the retry the rest has caught up too:
			// whatever else this call names that was "not yet" for it is there now.
			for k := range p.strict.armed {
				kind, id, _ := strings.Cut(k, "|")
				if strings.HasPrefix(kind, c.service+":"+c.op+"/") && strings.Contains(string(c.body), id) {
					delete(p.strict.armed, k)
				}
			}
			return e, true
		}
	}
	return awsError{}, false
}

func (p *Proxy) strictAfter(c call, answer []byte) {
	if !p.Strict.Load() {
		return
	}
	for _, r := range strictRules {
		if r.arm != nil {
			r.arm(&p.strict, c, answer)
		}
	}
}

// strictRewrite turns the emulator's answer into the one AWS would give.
func (p *Proxy) strictRewrite(c call, answer []byte) []byte {
	if !p.Strict.Load() {
		return answer
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range strictRules {
		if r.rewrite != nil {
			answer = r.rewrite(&p.strict, c, answer)
		}
	}
	return answer
}

// StrictFired counts, by rule, the calls the strict layer answered as AWS would.
func (p *Proxy) StrictFired() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for k, v := range p.strict.fired {
		out[k] = v
	}
	return out
}

// jsonString reads a string field of a JSON body by its path.
func jsonString(body []byte, path ...string) string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[k]
	}
	s, _ := v.(string)
	return s
}

func jsonBool(body []byte, key string) bool {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	b, _ := m[key].(bool)
	return b
}

// jsonHas reports a non-empty field (a list or an object).
func jsonHas(body []byte, key string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	raw := strings.TrimSpace(string(m[key]))
	return raw != "" && raw != "null" && raw != "[]" && raw != "{}"
}

// targetGroupsOf lists the target groups of a CreateService body.
func targetGroupsOf(body []byte) []string {
	var in struct {
		LoadBalancers []struct {
			TargetGroupArn string `json:"targetGroupArn"`
		} `json:"loadBalancers"`
	}
	json.Unmarshal(body, &in)
	var out []string
	for _, lb := range in.LoadBalancers {
		out = append(out, lb.TargetGroupArn)
	}
	return out
}

// formValue reads a parameter of a query-protocol body.
func formValue(body []byte, key string) string {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return ""
	}
	return form.Get(key)
}

// formValuesLike lists the values of every parameter whose name ends in suffix.
func formValuesLike(body []byte, suffix string) []string {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil
	}
	var out []string
	for k, vs := range form {
		if strings.HasSuffix(k, suffix) {
			out = append(out, vs...)
		}
	}
	slices.Sort(out)
	return out
}

// clusterName turns a cluster ARN into its name; a name stays as it is.
func clusterName(s string) string { return s[strings.LastIndex(s, "/")+1:] }

// keyID turns a key ARN into its ID; an ID stays as it is.
func keyID(s string) string { return s[strings.LastIndex(s, "/")+1:] }
