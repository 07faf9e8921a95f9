package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"golang.org/x/sync/singleflight"
)

// sharedCalls coalesces concurrent whoami calls for one credential into one (singleflight),
// with two rules singleflight alone does not give:
//
//   - the shared call belongs to all its waiters: one caller giving up does not fail the
//     others, and once the last one has gone the call is cancelled, so requests that gave
//     up leave no whoami running at Ory;
//   - a panic in the call (a user's RoundTripper, say) is recovered inside it and becomes a
//     502 for its waiters; singleflight.DoChan would re-raise it in a goroutine of its own,
//     where no server can recover it, and the whole process would die.
type sharedCalls struct {
	group singleflight.Group

	mu      sync.Mutex
	waiting map[string]*sharedCall
}

// sharedCall is the context a shared call runs with and how many callers wait on it.
type sharedCall struct {
	ctx     context.Context
	cancel  context.CancelFunc
	waiters int
}

// errAbandoned ends a shared call whose waiters all left; a caller that joined it just then
// starts a new one.
var errAbandoned = errors.New("orymfa: every caller left the shared whoami call")

// sharedResult is what a shared call hands every waiter.
type sharedResult struct {
	grant  *grant
	cached bool
}

// do runs fn once for all concurrent callers with the same key and returns its result. fn
// gets a context that is cancelled when every caller waiting on it has gone; it is not
// cancelled by any one caller, so values in the first caller's context (a trace span) are
// kept; and a count of the callers waiting. A caller whose own context ends gets its
// context's error at once.
func (c *sharedCalls) do(ctx context.Context, key string, report func(context.Context, error),
	fn func(ctx context.Context, waiters func() int) (*grant, bool, error)) (*grant, bool, error) {
	for {
		call := c.join(ctx, key)
		ch := c.group.DoChan(key, func() (v any, err error) {
			defer func() {
				if p := recover(); p != nil {
					err = &UnavailableError{Status: http.StatusBadGateway, Reason: "panic while asking Ory", Err: fmt.Errorf("%v", p)}
					report(call.ctx, err)
				}
			}()
			g, cached, err := fn(call.ctx, func() int { return c.count(call) })
			if err != nil && call.ctx.Err() != nil { // only leave cancels call.ctx
				return nil, errAbandoned
			}
			return &sharedResult{g, cached}, err
		})
		select {
		case res := <-ch:
			c.leave(key, call)
			if errors.Is(res.Err, errAbandoned) {
				if ctx.Err() != nil {
					return nil, false, waitError(ctx.Err())
				}
				continue // joined a call its last waiter had just left: ask again
			}
			if res.Err != nil {
				return nil, false, res.Err
			}
			r := res.Val.(*sharedResult)
			return r.grant, r.cached, nil
		case <-ctx.Done():
			c.leave(key, call)
			return nil, false, waitError(ctx.Err())
		}
	}
}

// count is how many callers wait on call.
func (c *sharedCalls) count(call *sharedCall) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return call.waiters
}

// join counts the caller in on the shared call for key, creating it if none is running.
func (c *sharedCalls) join(ctx context.Context, key string) *sharedCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	call := c.waiting[key]
	if call == nil {
		if c.waiting == nil {
			c.waiting = map[string]*sharedCall{}
		}
		// Detached from this caller's cancellation (the call is everybody's), but not from
		// its values.
		cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		call = &sharedCall{ctx: cctx, cancel: cancel}
		c.waiting[key] = call
	}
	call.waiters++
	return call
}

// leave counts the caller out; the last one out cancels the call.
func (c *sharedCalls) leave(key string, call *sharedCall) {
	c.mu.Lock()
	defer c.mu.Unlock()
	call.waiters--
	if call.waiters == 0 {
		call.cancel()
		if c.waiting[key] == call {
			delete(c.waiting, key)
		}
	}
}

// waitError is the error of a caller whose own context ended while it waited.
func waitError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &UnavailableError{Status: http.StatusGatewayTimeout, Reason: "request deadline passed while waiting for whoami", Err: err}
	}
	return &UnavailableError{Status: http.StatusServiceUnavailable, Reason: "request cancelled while waiting for whoami", Err: err}
}
