package teardown

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tapctl/tapctl/cloud"
	"github.com/tapctl/tapctl/provision"
)

func TestParseResource(t *testing.T) {
	for _, tc := range []struct{ arn, kind, id string }{
		{"arn:aws:logs:us-east-1:123456789012:log-group:/ecs/payment-pr1", "logs:log-group", "/ecs/payment-pr1"},
		{"arn:aws:logs:us-east-1:123456789012:log-group:/ecs/payment-pr1:*", "logs:log-group", "/ecs/payment-pr1:*"},
		{"arn:aws:cloudwatch:us-east-1:123456789012:alarm:payment-5xx-pr1", "cloudwatch:alarm", "payment-5xx-pr1"},
		{"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-credentials-pr1-AbCdEf", "secretsmanager:secret", "db-credentials-pr1-AbCdEf"},
		{"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "kms:key", "1234abcd-12ab-34cd-56ef-1234567890ab"},
		{"arn:aws:ecr:us-east-1:123456789012:repository/team/payment-service-pr1", "ecr:repository", "team/payment-service-pr1"},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/payment-tg-pr1/73e2d6bc24d8a067", "elasticloadbalancing:targetgroup", "payment-tg-pr1/73e2d6bc24d8a067"},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/microservices-alb-pr1/50dc6c495c0c9188", "elasticloadbalancing:loadbalancer", "app/microservices-alb-pr1/50dc6c495c0c9188"},
		{"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/a/1/2/3", "elasticloadbalancing:listener-rule", "app/a/1/2/3"},
		{"arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123", "ec2:security-group", "sg-0123"},
		{"arn:aws:ec2:us-east-1:123456789012:elastic-ip/eipalloc-0123", "ec2:elastic-ip", "eipalloc-0123"},
		{"arn:aws:ecs:us-east-1:123456789012:service/microservices-cluster-pr1/payment-service-pr1", "ecs:service", "microservices-cluster-pr1/payment-service-pr1"},
		{"arn:aws:ecs:us-east-1:123456789012:task-definition/payment-pr1:3", "ecs:task-definition", "payment-pr1:3"},
		{"arn:aws:servicediscovery:us-east-1:123456789012:service/srv-0123", "servicediscovery:service", "srv-0123"},
		{"arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/0123abc", "application-autoscaling:scalable-target", "0123abc"},
		{"arn:aws:appmesh:us-east-1:123456789012:mesh/microservices-mesh-pr1/virtualNode/payment-node-pr1", "appmesh:mesh", "microservices-mesh-pr1/virtualNode/payment-node-pr1"},
		{"arn:aws-cn:ec2:cn-north-1:123456789012:vpc/vpc-0123", "ec2:vpc", "vpc-0123"},
	} {
		r, ok := parseResource(tc.arn)
		if !ok || r.Kind != tc.kind || r.ID != tc.id || r.ARN != tc.arn {
			t.Errorf("parseResource(%q) = %+v, %v; want kind %q, ID %q", tc.arn, r, ok, tc.kind, tc.id)
		}
	}
	if _, ok := parseResource("sg-0123"); ok {
		t.Error("an ID that is not an ARN was parsed")
	}
}

// Every kind up tags is known to the sweep: a resource of it that the steps missed is deleted or
// named with a reason, never called unknown. Task definitions, scalable targets, alarms, log
// groups, secrets, repositories, target groups, keys, security groups and Elastic IPs are the
// kinds it deletes (deleteOrder); ECS's tasks are passed over.
func TestEveryKindTapctlTagsIsKnownToTheSweep(t *testing.T) {
	tagged := []string{
		"ec2:vpc", "ec2:subnet", "ec2:internet-gateway", "ec2:natgateway", "ec2:elastic-ip", "ec2:route-table", "ec2:security-group",
		"secretsmanager:secret", "kms:key", "ecs:cluster", "ecs:task-definition", "ecs:service", "ecs:task",
		"servicediscovery:namespace", "servicediscovery:service", "elasticloadbalancing:loadbalancer", "elasticloadbalancing:listener",
		"elasticloadbalancing:listener-rule", "elasticloadbalancing:targetgroup", "ecr:repository", "logs:log-group", "cloudwatch:alarm",
		"application-autoscaling:scalable-target", "appmesh:mesh",
	}
	for _, kind := range tagged {
		if _, known := kindOf(kind); !known && !passedOver(kind) {
			t.Errorf("the sweep does not know %s, a kind up tags", kind)
		}
	}
	for _, kind := range deleteOrder {
		if _, ok := kinds[kind]; !ok {
			t.Errorf("deleteOrder names %s, which the kinds table lacks", kind)
		}
	}
	if _, known := kindOf("sqs:queue"); known {
		t.Error("sqs:queue is known: the sweep would look it up instead of naming it")
	}
	if !(deleteRank("ecs:task-definition") < deleteRank("ec2:security-group") && deleteRank("ec2:security-group") < deleteRank("ec2:vpc")) {
		t.Error("the sweep does not delete task definitions, then security groups, then report the rest")
	}
}

func TestLeftoverErrorNamesEachResourceAndWhy(t *testing.T) {
	one := &LeftoverError{Env: "pr1", Resources: []Leftover{{ARN: "arn:aws:ec2:us-east-1:1:vpc/vpc-1", Why: "a VPC"}}}
	if s := one.Summary(); !strings.Contains(s, "1 resource tagged Environment=pr1, ManagedBy=tapctl is left") || !strings.Contains(s, "delete it by hand or remove its tags") {
		t.Errorf("summary: %s", s)
	}
	two := &LeftoverError{Env: "pr1", Resources: append(one.Resources, Leftover{ARN: "arn:aws:sqs:us-east-1:1:q", Why: "unknown"})}
	if s := two.Error(); !strings.Contains(s, "2 resources tagged Environment=pr1, ManagedBy=tapctl are left") ||
		!strings.Contains(s, "arn:aws:ec2:us-east-1:1:vpc/vpc-1 (a VPC); arn:aws:sqs:us-east-1:1:q (unknown)") {
		t.Errorf("error: %s", s)
	}
}

// fakeAWS answers the JSON protocol of the tagging API and CloudWatch Logs from a few log groups,
// and records what is deleted.
type fakeAWS struct {
	mu sync.Mutex
	// index is what GetResources lists: ARN -> tags, as the tagging index holds them.
	index map[string]map[string]string
	// groups are the log groups CloudWatch Logs holds now: name -> tags.
	groups  map[string]map[string]string
	deleted []string
}

const logGroupARN = "arn:aws:logs:us-east-1:123456789012:log-group:"

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var in map[string]any
	body, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(body, &in)
	answer := func(v any) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(v)
	}
	switch target := r.Header.Get("X-Amz-Target"); target {
	case "ResourceGroupsTaggingAPI_20170126.GetResources":
		var list []map[string]any
		for arn, tags := range f.index {
			var kv []map[string]string
			for k, v := range tags {
				kv = append(kv, map[string]string{"Key": k, "Value": v})
			}
			list = append(list, map[string]any{"ResourceARN": arn, "Tags": kv})
		}
		answer(map[string]any{"ResourceTagMappingList": list}) // the filters are ignored, as some implementations do
	case "Logs_20140328.DescribeLogGroups":
		var out []map[string]string
		for name := range f.groups {
			if strings.HasPrefix(name, in["logGroupNamePrefix"].(string)) {
				out = append(out, map[string]string{"logGroupName": name, "logGroupArn": logGroupARN + name})
			}
		}
		answer(map[string]any{"logGroups": out})
	case "Logs_20140328.ListTagsForResource":
		answer(map[string]any{"tags": f.groups[strings.TrimPrefix(in["resourceArn"].(string), logGroupARN)]})
	case "Logs_20140328.DeleteLogGroup":
		name := in["logGroupName"].(string)
		delete(f.groups, name)
		f.deleted = append(f.deleted, name)
		answer(map[string]any{})
	default:
		w.WriteHeader(http.StatusBadRequest)
		answer(map[string]string{"__type": "UnknownOperationException", "message": "the fake does not answer " + target})
	}
}

func fakeEnv(t *testing.T, name string, fake *fakeAWS) *provision.Env {
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	e := provision.NewEnv(name)
	e.AWS = cloud.NewClients(aws.Config{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, BaseEndpoint: aws.String(srv.URL)})
	return e
}

// The sweep deletes only what its own tags prove the environment's, passes over what AWS no
// longer has, and names what it does not know; what the index lists for another environment
// (an implementation that ignores the filters) or with tags changed since is left alone.
func TestSweepDeletesOnlyWhatItsOwnTagsProve(t *testing.T) {
	mine, other := map[string]string{"ManagedBy": "tapctl", "Environment": "pr1"}, map[string]string{"ManagedBy": "tapctl", "Environment": "pr2"}
	fake := &fakeAWS{
		index: map[string]map[string]string{
			logGroupARN + "/extra/pr1":                                               mine,
			logGroupARN + "/retagged/pr1":                                            mine, // the index lags: its own tags now say pr2
			logGroupARN + "/deleted/pr1":                                             mine, // deleted minutes ago, still in the index
			logGroupARN + "/other/pr2":                                               other,
			"arn:aws:sqs:us-east-1:123456789012:extra-pr1":                           mine,
			"arn:aws:ecs:us-east-1:123456789012:task/microservices-cluster-pr1/0123": mine,
		},
		groups: map[string]map[string]string{"/extra/pr1": mine, "/retagged/pr1": other, "/other/pr2": other, "/untagged": {}},
	}
	e := fakeEnv(t, "pr1", fake)
	err := sweep(context.Background(), e)
	var left *LeftoverError
	if !errors.As(err, &left) {
		t.Fatalf("sweep: %v, want a LeftoverError naming the queue", err)
	}
	if len(left.Resources) != 1 || left.Resources[0].ARN != "arn:aws:sqs:us-east-1:123456789012:extra-pr1" || !strings.Contains(left.Resources[0].Why, "does not know this kind") {
		t.Errorf("left %+v, want the queue alone, as a kind tapctl does not know", left.Resources)
	}
	if !slices.Equal(fake.deleted, []string{"/extra/pr1"}) {
		t.Errorf("deleted %v, want only /extra/pr1", fake.deleted)
	}
	if got := e.Summary().Deleted; !slices.Equal(got, []string{"log group /extra/pr1, found by its tags"}) {
		t.Errorf("summary counts %v as deleted", got)
	}
}

// An error of the tagging API stops down before the state file is forgotten, saying so.
func TestSweepThatCannotListStopsDown(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"AccessDeniedException","message":"not authorized to perform tag:GetResources"}`)
	}))
	defer srv.Close()
	e := provision.NewEnv("pr1")
	e.AWS = cloud.NewClients(aws.Config{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, BaseEndpoint: aws.String(srv.URL)})
	err := sweep(context.Background(), e)
	if err == nil || !strings.Contains(err.Error(), "the state file is kept") || cloud.ErrorCode(err) != "AccessDeniedException" {
		t.Errorf("sweep without tag:GetResources: %v", err)
	}
}
