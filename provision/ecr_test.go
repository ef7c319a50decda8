package provision

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

func TestScanOnPushCorrection(t *testing.T) {
	repo := func(scan *bool, enc ecrtypes.EncryptionType) ecrtypes.Repository {
		r := ecrtypes.Repository{RepositoryName: aws.String("payment-repo-pr1")}
		if scan != nil {
			r.ImageScanningConfiguration = &ecrtypes.ImageScanningConfiguration{ScanOnPush: *scan}
		}
		if enc != "" {
			r.EncryptionConfiguration = &ecrtypes.EncryptionConfiguration{EncryptionType: enc}
		}
		return r
	}
	cases := []struct {
		name     string
		repo     ecrtypes.Repository
		wantPut  bool
		wantFail bool
	}{
		{"scan on, AES256", repo(aws.Bool(true), ecrtypes.EncryptionTypeAes256), false, false},
		{"scan on, no encryption reported", repo(aws.Bool(true), ""), false, false},
		{"scan off", repo(aws.Bool(false), ecrtypes.EncryptionTypeAes256), true, false},
		{"no scanning configuration", repo(nil, ecrtypes.EncryptionTypeAes256), true, false},
		{"KMS encryption cannot change", repo(aws.Bool(true), ecrtypes.EncryptionTypeKms), false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			put, err := scanOnPushCorrection(c.repo)
			if (err != nil) != c.wantFail {
				t.Fatalf("error = %v, want failure %v", err, c.wantFail)
			}
			if (put != nil) != c.wantPut {
				t.Fatalf("correction = %+v, want one: %v", put, c.wantPut)
			}
			if put != nil && (!put.ImageScanningConfiguration.ScanOnPush || aws.ToString(put.RepositoryName) != "payment-repo-pr1") {
				t.Errorf("correction = %+v, want scan on push for payment-repo-pr1", put)
			}
		})
	}
}

func TestLifecyclePolicyCorrection(t *testing.T) {
	// The same rules as AWS returns them: reformatted, keys in another order.
	reformatted := `{"rules":[{"action":{"type":"expire"},"selection":{"countNumber":10,"countType":"imageCountMoreThan","tagStatus":"any"},"description":"Keep only the last 10 images","rulePriority":1}]}`
	cases := []struct {
		name    string
		current *ecr.GetLifecyclePolicyOutput
		wantPut bool
	}{
		{"none", nil, true},
		{"tapctl's", &ecr.GetLifecyclePolicyOutput{LifecyclePolicyText: aws.String(repositoryLifecyclePolicy())}, false},
		{"tapctl's reformatted", &ecr.GetLifecyclePolicyOutput{LifecyclePolicyText: aws.String(reformatted)}, false},
		{"changed by hand", &ecr.GetLifecyclePolicyOutput{LifecyclePolicyText: aws.String(`{"rules":[]}`)}, true},
		{"not JSON", &ecr.GetLifecyclePolicyOutput{LifecyclePolicyText: aws.String("")}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			put := lifecyclePolicyCorrection("payment-repo-pr1", c.current)
			if (put != nil) != c.wantPut {
				t.Fatalf("correction = %+v, want one: %v", put, c.wantPut)
			}
			if put != nil && aws.ToString(put.LifecyclePolicyText) != repositoryLifecyclePolicy() {
				t.Errorf("policy put = %s, want tapctl's", aws.ToString(put.LifecyclePolicyText))
			}
		})
	}
}
