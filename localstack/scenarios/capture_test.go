package scenarios

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"sync"
	"testing"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// capture records the serialized request bodies of one operation, for the fields an emulator
// accepts but drops: the test then asserts what tapctl sent, since it cannot read it back.
type capture struct {
	service, operation string
	mu                 sync.Mutex
	bodies             [][]byte
}

func newCapture(service, operation string) *capture {
	return &capture{service: service, operation: operation}
}

func (c *capture) middleware(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("testCapture"+c.operation,
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			if awsmiddleware.GetServiceID(ctx) == c.service && middleware.GetOperationName(ctx) == c.operation {
				if req, ok := in.Request.(*smithyhttp.Request); ok && req.GetStream() != nil {
					body, err := io.ReadAll(req.GetStream())
					if err != nil {
						return middleware.FinalizeOutput{}, middleware.Metadata{}, err
					}
					if in.Request, err = req.SetStream(bytes.NewReader(body)); err != nil {
						return middleware.FinalizeOutput{}, middleware.Metadata{}, err
					}
					c.mu.Lock()
					c.bodies = append(c.bodies, body)
					c.mu.Unlock()
				}
			}
			return next.HandleFinalize(ctx, in)
		}), middleware.Before)
}

// jsonBodies decodes every captured JSON body.
func (c *capture) jsonBodies(t *testing.T) []map[string]any {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]any
	for _, b := range c.bodies {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s.%s body is not JSON: %v: %s", c.service, c.operation, err, b)
		}
		out = append(out, m)
	}
	return out
}
