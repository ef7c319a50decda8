package provision

import (
	"context"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tapctl/tapctl/state"
)

// recordCreated records a resource this run just made before the step's next call (a run
// killed after it must find the resource again) and counts it created as label.
func (e *Env) recordCreated(key, label string, res state.Resource) error {
	if err := e.Record(key, res); err != nil {
		return err
	}
	e.Created(label, res.ID)
	return nil
}

// adoptEC2 records an EC2 resource of the environment found in AWS and adds the tags it lacks
// (its Name changed by hand).
func (e *Env) adoptEC2(ctx context.Context, key, label string, res state.Resource, tags []ec2types.Tag, name string) error {
	if err := e.Record(key, res); err != nil {
		return err
	}
	return e.ensureEC2Tags(ctx, label, res.ID, tags, name)
}
