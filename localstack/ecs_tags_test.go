package localstack

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Every ECS describe goes to moto with include=TAGS; the tags reach only the callers that asked.
func TestECSDescribesAlwaysAskForTagsAndAnswerThemOnlyWhenAsked(t *testing.T) {
	for _, tc := range []struct {
		body      string
		wantUntag bool
	}{
		{`{"cluster":"c","services":["s"]}`, true},
		{`{"cluster":"c","services":["s"],"include":[]}`, true},
		{`{"cluster":"c","services":["s"],"include":["TAGS"]}`, false},
	} {
		r, _ := http.NewRequest(http.MethodPost, "http://emulator", strings.NewReader(tc.body))
		c := call{service: "ecs", op: "DescribeServices", protocol: "json", body: []byte(tc.body)}
		if untag := askECSTags(r, c); untag != tc.wantUntag {
			t.Errorf("%s: untag %t, want %t", tc.body, untag, tc.wantUntag)
		}
		sent, _ := io.ReadAll(r.Body)
		var in struct{ Include []string }
		if err := json.Unmarshal(sent, &in); err != nil || len(in.Include) != 1 || in.Include[0] != "TAGS" || r.ContentLength != int64(len(sent)) {
			t.Errorf("%s: sent %s (length %d)", tc.body, sent, r.ContentLength)
		}
	}
	answer := dropECSTags("DescribeServices", []byte(`{"services":[{"serviceName":"s","tags":[{"key":"Environment","value":"e"}]}],"failures":[]}`))
	if strings.Contains(string(answer), "tags") || !strings.Contains(string(answer), `"serviceName":"s"`) {
		t.Errorf("answer without the tags asked for: %s", answer)
	}
	other := call{service: "ec2", op: "DescribeVpcs", protocol: "ec2", body: []byte("Action=DescribeVpcs")}
	if r, _ := http.NewRequest(http.MethodPost, "http://emulator", strings.NewReader("Action=DescribeVpcs")); askECSTags(r, other) {
		t.Error("an EC2 describe was changed")
	}
}
