package provision

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tapctl/tapctl/catalog"
	"github.com/tapctl/tapctl/state"
)

// partitionEnv is an environment whose caller is in partition, with the secret and the key
// recorded as AWS would name them there.
func partitionEnv(t *testing.T, partition, region string) *Env {
	t.Helper()
	e := NewEnv("pr1")
	e.Partition, e.Region, e.Account = partition, region, "123456789012"
	st, err := state.Open(t.TempDir(), e.Name)
	if err != nil {
		t.Fatal(err)
	}
	e.State = st
	prefix := "arn:" + partition + ":"
	for key, arn := range map[string]string{
		keySecret: prefix + "secretsmanager:" + region + ":123456789012:secret:db-credentials-pr1-AbCdEf",
		keyLogKey: prefix + "kms:" + region + ":123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
	} {
		if err := st.Put(key, state.Resource{ID: arn, ARN: arn}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// Every document and ARN tapctl writes names the caller's partition: in China and GovCloud no
// arn:aws: is left, the key names that partition's account root and CloudWatch Logs, and the
// roles' own resources and managed policies are that partition's.
func TestPoliciesNameTheCallersPartition(t *testing.T) {
	cases := []struct {
		partition, region, logsPrincipal string
	}{
		{"aws-cn", "cn-north-1", "logs.cn-north-1.amazonaws.com.cn"},
		{"aws-us-gov", "us-gov-west-1", "logs.us-gov-west-1.amazonaws.com"},
		{"aws", "us-east-1", "logs.us-east-1.amazonaws.com"},
	}
	for _, c := range cases {
		t.Run(c.partition, func(t *testing.T) {
			e := partitionEnv(t, c.partition, c.region)
			svc := catalog.WithDefaults("payment", 10)
			arn := "arn:" + c.partition + ":"

			key := keyPolicy(e)
			documents := map[string]string{"key policy": key.String()}
			for _, kind := range []string{kindExecutionRole, kindTaskRole, kindInfrastructureRole} {
				s := roleStep{svc: svc, kind: kind}
				inline, err := s.inlinePolicy(e)
				if err != nil {
					t.Fatalf("inline policy of the %s: %v", kind, err)
				}
				documents["inline policy of the "+kind] = inline.String()
				documents["managed policies of the "+kind] = strings.Join(s.managedPolicies(e), " ")
			}
			if c.partition != "aws" {
				for what, doc := range documents {
					if strings.Contains(doc, "arn:aws:") {
						t.Errorf("%s in %s names the aws partition: %s", what, c.partition, doc)
					}
				}
			}

			if got, want := key.Statement[0].Principal.AWS, arn+"iam::123456789012:root"; got != want {
				t.Errorf("key policy's account root = %s, want %s", got, want)
			}
			if got := key.Statement[1].Principal.Service; got != c.logsPrincipal {
				t.Errorf("key policy's CloudWatch Logs principal = %s, want %s", got, c.logsPrincipal)
			}
			if got, want := key.Statement[1].Condition["ArnLike"]["kms:EncryptionContext:aws:logs:arn"], arn+"logs:"+c.region+":123456789012:log-group:*"; got != want {
				t.Errorf("key policy's encryption context = %s, want %s", got, want)
			}
			for _, want := range []string{
				arn + "s3:::payment-bucket-pr1",
				arn + "s3:::payment-bucket-pr1/*",
				arn + "dynamodb:" + c.region + ":123456789012:table/payment-table-pr1",
			} {
				if !policyNamesResource(t, documents["inline policy of the "+kindTaskRole], want) {
					t.Errorf("the task role's policy lacks %s: %s", want, documents["inline policy of the "+kindTaskRole])
				}
			}
			for kind, want := range map[string]string{
				kindExecutionRole:      arn + "iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
				kindInfrastructureRole: arn + "iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers",
			} {
				if got := documents["managed policies of the "+kind]; got != want {
					t.Errorf("managed policies of the %s = %s, want %s", kind, got, want)
				}
			}
		})
	}
}

// policyNamesResource reports whether some statement of the document names resource.
func policyNamesResource(t *testing.T, doc, resource string) bool {
	t.Helper()
	var p policyDocument
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatalf("policy does not parse: %v\n%s", err, doc)
	}
	for _, st := range p.Statement {
		for _, r := range st.Resource {
			if r == resource {
				return true
			}
		}
	}
	return false
}
