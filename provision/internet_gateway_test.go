package provision

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// The gateway counts as attached to the VPC unless it is detaching or detached, or attached
// to another VPC.
func TestInternetGatewayAttachedTo(t *testing.T) {
	attachment := func(vpc string, state ec2types.AttachmentStatus) ec2types.InternetGatewayAttachment {
		return ec2types.InternetGatewayAttachment{VpcId: aws.String(vpc), State: state}
	}
	cases := []struct {
		name string
		held []ec2types.InternetGatewayAttachment
		want bool
	}{
		{"none", nil, false},
		{"available", []ec2types.InternetGatewayAttachment{attachment("vpc-1", ec2types.AttachmentStatus("available"))}, true},
		{"attached", []ec2types.InternetGatewayAttachment{attachment("vpc-1", ec2types.AttachmentStatusAttached)}, true},
		{"attaching", []ec2types.InternetGatewayAttachment{attachment("vpc-1", ec2types.AttachmentStatusAttaching)}, true},
		{"detaching", []ec2types.InternetGatewayAttachment{attachment("vpc-1", ec2types.AttachmentStatusDetaching)}, false},
		{"detached", []ec2types.InternetGatewayAttachment{attachment("vpc-1", ec2types.AttachmentStatusDetached)}, false},
		{"another VPC", []ec2types.InternetGatewayAttachment{attachment("vpc-2", ec2types.AttachmentStatusAttached)}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := attachedTo(&ec2types.InternetGateway{Attachments: c.held}, "vpc-1"); got != c.want {
				t.Errorf("attachedTo = %t, want %t", got, c.want)
			}
		})
	}
}
