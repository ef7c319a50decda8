package provision

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/tapctl/tapctl/engine"
	"github.com/tapctl/tapctl/state"
)

// netTestEnv is an environment "pr1" whose state file holds ids (key -> ID), for the network
// steps' unit tests: no AWS client, no emulator.
func netTestEnv(t *testing.T, ids map[string]string) *Env {
	t.Helper()
	e := NewEnv("pr1")
	st, err := state.Open(t.TempDir(), e.Name)
	if err != nil {
		t.Fatal(err)
	}
	for key, id := range ids {
		if err := st.Put(key, state.Resource{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	e.State = st
	return e
}

// ownedEC2Tags are the tags tapctl puts on environment env's EC2 resource called name.
func ownedEC2Tags(env, name string) []ec2types.Tag {
	return []ec2types.Tag{
		{Key: aws.String(engine.TagEnvironment), Value: aws.String(env)},
		{Key: aws.String(engine.TagManagedBy), Value: aws.String(engine.ManagedByValue)},
		{Key: aws.String(TagName), Value: aws.String(name)},
	}
}
