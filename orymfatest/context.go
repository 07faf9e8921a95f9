package orymfatest

import (
	"context"
	"fmt"
	"net/http"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
)

// localURL stands for the Kratos public URL in sessions built without a server: Kratos's
// default public port on loopback.
const localURL = "http://127.0.0.1:4433"

// SessionOption configures a session built by [NewSession].
type SessionOption func(*sessionConfig)

type sessionConfig struct {
	identity      *Identity
	first, second time.Time
}

// WithIdentity makes the session belong to id: its ID and traits. id may come from
// [Server.NewIdentity] or be a literal such as &orymfatest.Identity{Traits: ...} (an empty ID
// gets a random one).
func WithIdentity(id *Identity) SessionOption {
	return func(c *sessionConfig) { c.identity = id }
}

// WithFactorTimes sets when the factors were proven: first for the password, second for the
// second factor (ignored for an aal1 session), e.g. to unit-test a handler that reads
// authenticated_at or the methods' completed_at. Without it (or with a zero first) both are
// now; a zero second is first.
func WithFactorTimes(first, second time.Time) SessionOption {
	return func(c *sessionConfig) { c.first, c.second = first, second }
}

// NewSession builds a complete session at the given AAL, as whoami would answer it (the same
// document as [Server]'s, decoded by client-go), for handler unit tests that need no server:
// put it in a request with [WithSession]. It panics if aal is neither [AAL1] nor [AAL2], or if
// the identity's traits do not encode as JSON.
func NewSession(aal AAL, opts ...SessionOption) *ory.Session {
	if aal != AAL1 && aal != AAL2 {
		panic(fmt.Sprintf("orymfatest: NewSession: AAL %q is neither AAL1 nor AAL2", aal))
	}
	var c sessionConfig
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	baseURL := localURL
	var rec *identityRecord
	switch id := c.identity; {
	case id != nil && id.rec != nil && id.s != nil:
		// The record's id, traits and timestamps never change after creation: no lock needed.
		rec, baseURL = id.rec, id.s.URL
	default:
		var ic identityConfig
		if id != nil {
			ic.traits = id.Traits
		}
		var err error
		if rec, _, err = newIdentityRecord(ic, func() int { return 1 }); err != nil {
			panic("orymfatest: NewSession: " + err.Error())
		}
		if id != nil && id.ID != "" {
			rec.id = id.ID
		}
	}

	now := time.Now().UTC()
	se := newSessionRecord(rec, aal, now)
	if !c.first.IsZero() {
		first, second := c.first.UTC(), c.second.UTC()
		if aal == AAL1 || c.second.IsZero() {
			second = first
		}
		se.methods[0].CompletedAt = first
		if aal == AAL2 {
			se.methods[1].CompletedAt = second
		}
		se.issuedAt, se.authenticatedAt = first, second
		if second.Before(first) {
			se.issuedAt, se.authenticatedAt = second, first
		}
	}
	sess, err := decodeSession(se.document(baseURL))
	if err != nil {
		panic("orymfatest: NewSession: " + err.Error())
	}
	return sess
}

// WithSession returns a shallow copy of r whose context carries s, as the middleware leaves
// it for the handler, to call the handler directly in a unit test: every adapter's accessor
// finds it (net/http SessionFromContext; gin and echo fall back to the request's context,
// fiber to c.UserContext()). It is not a way past the middleware: a guard does not trust a
// session it did not verify, and asks Ory; test through the middleware with [Server].
func WithSession(r *http.Request, s *ory.Session) *http.Request {
	return r.WithContext(ContextWithSession(r.Context(), s))
}

// ContextWithSession returns a copy of ctx that carries s, as the middleware leaves it; see
// [WithSession]. It is core.ContextWithSession, under the name a test file imports anyway.
func ContextWithSession(ctx context.Context, s *ory.Session) context.Context {
	return core.ContextWithSession(ctx, s)
}
