package core

import (
	"context"
	"time"
)

// Observer is told what guards and their verifier do, for metrics and traces (the otel module
// implements it with OpenTelemetry). Its methods run on the request path: keep them fast, safe
// for concurrent use, and never keep the session or credential. With no observer configured
// nothing is measured and nothing is called. Embed [NoopObserver] to implement only some
// methods.
type Observer interface {
	// StartCheck is called when a guard starts deciding a request. The context it returns is
	// used for the rest of the check (it may carry a span) and passed to EndCheck.
	StartCheck(ctx context.Context) context.Context
	// EndCheck is called with what the guard decided.
	EndCheck(ctx context.Context, e CheckEvent)
	// StartWhoami is called before a call to Ory's whoami (one per shared call, however many
	// requests wait on it). The context it returns is used for the call and passed to
	// EndWhoami.
	StartWhoami(ctx context.Context) context.Context
	// EndWhoami is called when the whoami call ends.
	EndWhoami(ctx context.Context, e WhoamiEvent)
	// CacheLookup is called for each lookup in the session cache.
	CacheLookup(hit bool)
	// CacheEvicted is called when a session leaves the cache (full, expired or replaced).
	CacheEvicted()
}

// CheckEvent describes one guard's decision. It never holds the credential, the session id or
// the identity.
type CheckEvent struct {
	// Outcome is what the guard decided.
	Outcome Outcome
	// Requirement is the route's requirement.
	Requirement Requirement
	// AAL is the session's assurance level ("aal1", "aal2"), or "" without a session.
	AAL string
	// Cached reports that the session came from the cache, FromContext that an earlier guard
	// on the same request had verified it.
	Cached, FromContext bool
	// Duration is how long the check took.
	Duration time.Duration
	// Err is the denial's cause (nil when allowed).
	Err error
}

// WhoamiEvent describes one call to Ory's whoami.
type WhoamiEvent struct {
	// Status is Ory's HTTP status, 0 when there was no answer.
	Status int
	// Err is nil when Ory returned a usable session; otherwise it wraps ErrNoSession,
	// ErrAAL2Required or ErrUnavailable.
	Err error
	// Duration is how long the call took.
	Duration time.Duration
	// Waiters is how many requests shared the call.
	Waiters int
}

// NoopObserver implements [Observer] and does nothing; embed it to implement only some
// methods.
type NoopObserver struct{}

// StartCheck returns ctx.
func (NoopObserver) StartCheck(ctx context.Context) context.Context { return ctx }

// EndCheck does nothing.
func (NoopObserver) EndCheck(context.Context, CheckEvent) {}

// StartWhoami returns ctx.
func (NoopObserver) StartWhoami(ctx context.Context) context.Context { return ctx }

// EndWhoami does nothing.
func (NoopObserver) EndWhoami(context.Context, WhoamiEvent) {}

// CacheLookup does nothing.
func (NoopObserver) CacheLookup(bool) {}

// CacheEvicted does nothing.
func (NoopObserver) CacheEvicted() {}
