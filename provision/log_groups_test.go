package provision

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

func TestLogGroupCorrections(t *testing.T) {
	const key = "arn:aws:kms:us-east-1:123456789012:key/k1"
	group := func(days int32, keyARN string) logtypes.LogGroup {
		lg := logtypes.LogGroup{LogGroupName: aws.String("/ecs/payment-service-pr1")}
		if days != 0 {
			lg.RetentionInDays = aws.Int32(days)
		}
		if keyARN != "" {
			lg.KmsKeyId = aws.String(keyARN)
		}
		return lg
	}
	cases := []struct {
		name                   string
		group                  logtypes.LogGroup
		wantRetention, wantKey bool
	}{
		{"as the spec wants", group(logRetentionDays, key), false, false},
		{"retention changed", group(30, key), true, false},
		{"never expires", group(0, key), true, false},
		{"key removed", group(logRetentionDays, ""), false, true},
		{"another key", group(logRetentionDays, "arn:aws:kms:us-east-1:123456789012:key/other"), false, true},
		{"both", group(1, ""), true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fix := logGroupCorrections(c.group, key)
			if (fix.retention != nil) != c.wantRetention || (fix.key != nil) != c.wantKey {
				t.Fatalf("corrections = retention %+v, key %+v; want retention %v, key %v", fix.retention, fix.key, c.wantRetention, c.wantKey)
			}
			if fix.retention != nil && aws.ToInt32(fix.retention.RetentionInDays) != logRetentionDays {
				t.Errorf("retention put = %d, want %d", aws.ToInt32(fix.retention.RetentionInDays), logRetentionDays)
			}
			if fix.key != nil && (aws.ToString(fix.key.KmsKeyId) != key || aws.ToString(fix.key.LogGroupName) != "/ecs/payment-service-pr1") {
				t.Errorf("key association = %+v, want %s on the group", fix.key, key)
			}
		})
	}
}
