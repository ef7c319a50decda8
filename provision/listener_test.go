package provision

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// The :80 listener speaks HTTP and answers a plain 404 by default; anything else is corrected.
func TestListenerDrifts(t *testing.T) {
	fixed := func(status, contentType, body string) []elbtypes.Action {
		return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
			StatusCode: aws.String(status), ContentType: aws.String(contentType), MessageBody: aws.String(body),
		}}}
	}
	http := elbtypes.ProtocolEnumHttp
	cases := []struct {
		name     string
		protocol elbtypes.ProtocolEnum
		actions  []elbtypes.Action
		drifts   bool
	}{
		{"converged", http, notFoundAction(), false},
		{"as AWS describes it", http, fixed("404", "text/plain", "Not Found"), false},
		{"another status", http, fixed("503", "text/plain", "Not Found"), true},
		{"another body", http, fixed("404", "text/plain", "gone"), true},
		{"another content type", http, fixed("404", "text/html", "Not Found"), true},
		{"forwards to a group", http, forwardTo("arn:tg"), true},
		{"no default action", http, nil, true},
		{"two actions", http, append(notFoundAction(), notFoundAction()...), true},
		{"fixed response without its config", http, []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse}}, true},
		{"HTTPS", elbtypes.ProtocolEnumHttps, notFoundAction(), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := listenerDrifts(&elbtypes.Listener{Protocol: c.protocol, DefaultActions: c.actions}); got != c.drifts {
				t.Errorf("listenerDrifts = %t, want %t", got, c.drifts)
			}
		})
	}
}
