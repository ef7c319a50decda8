package inventory

import "testing"

func TestResourceKindAndWhatIsCounted(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:ec2:us-east-1:123456789012:vpc/vpc-1":                                 "ec2:vpc",
		"arn:aws:ecs:us-east-1:123456789012:service/microservices-cluster-pr1/payment": "ecs:service",
		"arn:aws:logs:us-east-1:123456789012:log-group:/ecs/payment-service-pr1":       "logs:log-group",
		"arn:aws:kms:us-east-1:123456789012:key/6d18d477":                              "kms:key",
		"arn:aws:ecs:us-east-1:123456789012:task-definition/payment-pr1:3":             "ecs:task-definition",
		"arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/alb/abc": "elasticloadbalancing:loadbalancer",
		"not-an-arn": "",
	} {
		if got := resourceKind(arn); got != want {
			t.Errorf("resourceKind(%q) = %q, want %q", arn, got, want)
		}
	}
	for kind, want := range map[string]bool{"ec2:vpc": true, "logs:log-group": true, "kms:key": false, "ecs:task-definition": false, "ecs:task": false, "": false} {
		if countable(kind) != want {
			t.Errorf("countable(%q) = %v", kind, !want)
		}
	}
}
