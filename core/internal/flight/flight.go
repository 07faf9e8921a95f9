package flight

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/singleflight"
)

// ErrLeft is wrapped, with the caller's context error, by the error of a caller whose own
// context ended while it waited.
var ErrLeft = errors.New("flight: the caller left before the shared call ended")

// errAbandoned ends a shared call whose callers all left; a caller that joined it just then
// starts a new one.
var errAbandoned = errors.New("flight: every caller left the shared call")

// PanicError is what the callers of a call that panicked get when the group has no Recovered
// function.
type PanicError struct{ Value any }

// Error names the panic's value.
func (e *PanicError) Error() string {
	return fmt.Sprintf("flight: the shared call panicked: %v", e.Value)
}

// Group runs one call at a time per key for all concurrent callers of [Group.Do]. The zero
// value is ready to use.
type Group[T any] struct {
	// Recovered, when set, turns the value of a call's panic into the error its callers get.
	// It runs once per call, inside it, with the call's context.
	Recovered func(ctx context.Context, p any) error

	group singleflight.Group

	mu    sync.Mutex
	calls map[string]*call
}

// call is the context a shared call runs with and how many callers wait on it.
type call struct {
	ctx     context.Context
	cancel  context.CancelFunc
	waiters int
}

// result is what a shared call hands every caller.
type result[T any] struct{ v T }

// Do runs fn once for all concurrent callers with the same key and returns its result. fn
// gets a context that is cancelled when every caller waiting on it has gone (not by any one
// caller, so values in the first caller's context, a trace span, say, are kept) and a count of
// the callers waiting. A caller whose own context ends gets an error wrapping [ErrLeft] and its
// context's error at once.
func (g *Group[T]) Do(ctx context.Context, key string, fn func(ctx context.Context, waiters func() int) (T, error)) (T, error) {
	var zero T
	for {
		c := g.join(ctx, key)
		ch := g.group.DoChan(key, func() (v any, err error) {
			defer func() {
				if p := recover(); p != nil {
					err = &PanicError{Value: p}
					if g.Recovered != nil {
						err = g.Recovered(c.ctx, p)
					}
				}
			}()
			r, err := fn(c.ctx, func() int { return g.count(c) })
			if err != nil && c.ctx.Err() != nil { // only leave cancels c.ctx
				return nil, errAbandoned
			}
			return &result[T]{r}, err
		})
		select {
		case res := <-ch:
			g.leave(key, c)
			if errors.Is(res.Err, errAbandoned) {
				if ctx.Err() != nil {
					return zero, left(ctx)
				}
				continue // joined a call its last caller had just left: call again
			}
			if res.Err != nil {
				return zero, res.Err
			}
			return res.Val.(*result[T]).v, nil
		case <-ctx.Done():
			g.leave(key, c)
			return zero, left(ctx)
		}
	}
}

func left(ctx context.Context) error { return fmt.Errorf("%w: %w", ErrLeft, ctx.Err()) }

// count is how many callers wait on c.
func (g *Group[T]) count(c *call) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return c.waiters
}

// join counts the caller in on the shared call for key, creating it if none is running.
func (g *Group[T]) join(ctx context.Context, key string) *call {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.calls[key]
	if c == nil {
		if g.calls == nil {
			g.calls = map[string]*call{}
		}
		// Detached from this caller's cancellation (the call is everybody's), but not from
		// its values.
		cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		c = &call{ctx: cctx, cancel: cancel}
		g.calls[key] = c
	}
	c.waiters++
	return c
}

// leave counts the caller out; the last one out cancels the call.
func (g *Group[T]) leave(key string, c *call) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c.waiters--
	if c.waiters == 0 {
		c.cancel()
		if g.calls[key] == c {
			delete(g.calls, key)
		}
	}
}
