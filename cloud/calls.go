package cloud

import (
	"context"
	"sort"
	"strings"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// IsMutating says whether an API operation can change AWS: everything but Describe*, Get*,
// List* and Head* (S3's HeadBucket, HeadObject).
func IsMutating(operation string) bool {
	for _, p := range []string{"Describe", "Get", "List", "Head"} {
		if strings.HasPrefix(operation, p) {
			return false
		}
	}
	return true
}

// CallCounter counts API operations by "Service.Operation", and by step; retries of one call
// count once.
type CallCounter struct {
	mu     sync.Mutex
	calls  map[string]int
	byStep map[string]int
}

func NewCallCounter() *CallCounter {
	return &CallCounter{calls: map[string]int{}, byStep: map[string]int{}}
}

type stepKey struct{}

// WithStep marks a context with the step its calls belong to.
func WithStep(ctx context.Context, step string) context.Context {
	return context.WithValue(ctx, stepKey{}, step)
}

// StepOf is the step a context belongs to, or "".
func StepOf(ctx context.Context) string {
	s, _ := ctx.Value(stepKey{}).(string)
	return s
}

// PerStep returns how many calls each step made.
func (c *CallCounter) PerStep() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.byStep))
	for k, v := range c.byStep {
		out[k] = v
	}
	return out
}

// Middleware is an SDK APIOptions entry that feeds the counter.
func (c *CallCounter) Middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("tapctlCallCounter",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			name := awsmiddleware.GetServiceID(ctx) + "." + middleware.GetOperationName(ctx)
			c.mu.Lock()
			c.calls[name]++
			if step := StepOf(ctx); step != "" {
				c.byStep[step]++
			}
			c.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// Totals returns the number of mutating and read calls so far.
func (c *CallCounter) Totals() (mutating, reads int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, n := range c.calls {
		op := name[strings.LastIndex(name, ".")+1:]
		if IsMutating(op) {
			mutating += n
		} else {
			reads += n
		}
	}
	return mutating, reads
}

// Mutating lists the mutating calls made, sorted, e.g. ["EC2.CreateRoute"].
func (c *CallCounter) Mutating() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for name, n := range c.calls {
		if IsMutating(name[strings.LastIndex(name, ".")+1:]) {
			for i := 0; i < n; i++ {
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Snapshot copies the counts.
func (c *CallCounter) Snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.calls))
	for k, v := range c.calls {
		out[k] = v
	}
	return out
}
