package cloud

import (
	"context"
	"fmt"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// MutationRefused is the error RefuseMutations returns instead of sending a mutating call. It
// carries the call's input: what the caller would have changed.
type MutationRefused struct {
	Service, Operation string
	Input              any
}

func (m *MutationRefused) Error() string {
	return fmt.Sprintf("read-only run: %s.%s was not sent", m.Service, m.Operation)
}

// Refusals collects the mutating calls refused on a context, in order, even when the caller
// swallows the error.
type Refusals struct {
	mu   sync.Mutex
	list []*MutationRefused
}

type refusalsKey struct{}

// WithRefusals collects on r the calls refused under ctx.
func WithRefusals(ctx context.Context, r *Refusals) context.Context {
	return context.WithValue(ctx, refusalsKey{}, r)
}

// All returns the refused calls so far.
func (r *Refusals) All() []*MutationRefused {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*MutationRefused(nil), r.list...)
}

// RefuseMutations is an SDK APIOptions entry that stops every mutating operation (IsMutating)
// before it is signed or sent, so that a run with it installed can only read. It goes first in
// the stack: refused calls never reach the call counters, or the wire.
func RefuseMutations(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("tapctlRefuseMutations",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			op := middleware.GetOperationName(ctx)
			if !IsMutating(op) {
				return next.HandleInitialize(ctx, in)
			}
			refused := &MutationRefused{Service: awsmiddleware.GetServiceID(ctx), Operation: op, Input: in.Parameters}
			if r, ok := ctx.Value(refusalsKey{}).(*Refusals); ok {
				r.mu.Lock()
				r.list = append(r.list, refused)
				r.mu.Unlock()
			}
			return middleware.InitializeOutput{}, middleware.Metadata{}, refused
		}), middleware.Before)
}
