package core

import (
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core/internal/intern"
)

// compact shrinks a verified session before it is kept in the cache, without changing what
// it reads as: a cached session costs memory for its whole TTL and is walked by the garbage
// collector on every cycle.
//
//   - Each of client-go's models decodes its JSON a second time into a map of "additional
//     properties" and then deletes every known key, so a decoded session carries an emptied
//     but allocated map per object: more than half of its memory. An empty map becomes nil
//     (it reads the same); one that still holds something (a field a newer Ory sends) stays.
//   - The text of the small values every session repeats (the assurance levels, the method
//     names, the identity's state) is one shared copy instead of one each, and equal times
//     within the session (a sign-in's authenticated_at, issued_at and completed_at; an
//     identity's created_at, state_changed_at and updated_at) are one of them.
//   - The values many sessions repeat but no list can name (the identity schema's id and
//     URL, a device's user agent and location) are interned: the first few thousand distinct
//     ones get one shared copy each, for the life of the process.
//
// Only immutable string bytes are shared between sessions, never a pointer: sessions are
// read-only for their users (see SessionFromContext), but a handler that writes through one
// anyway must change its own session only, not every user's. (The shared times are within
// one session, which only that session's holders see.) The policy's facts are read before
// compact (see ask), so no write reaches them either.
func compact(s *ory.Session) {
	var times timeSet
	s.AuthenticatedAt = times.share(s.AuthenticatedAt)
	s.IssuedAt = times.share(s.IssuedAt)
	s.ExpiresAt = times.share(s.ExpiresAt)
	s.AdditionalProperties = nilIfEmpty(s.AdditionalProperties)
	sharedAAL(s.AuthenticatorAssuranceLevel)
	for i := range s.AuthenticationMethods {
		m := &s.AuthenticationMethods[i]
		m.AdditionalProperties = nilIfEmpty(m.AdditionalProperties)
		sharedAAL(m.Aal)
		sharedString(m.Method)
		m.CompletedAt = times.share(m.CompletedAt)
	}
	for i := range s.Devices {
		d := &s.Devices[i]
		d.AdditionalProperties = nilIfEmpty(d.AdditionalProperties)
		internedString(d.UserAgent)
		internedString(d.Location)
	}
	id := s.Identity
	if id == nil {
		return
	}
	id.AdditionalProperties = nilIfEmpty(id.AdditionalProperties)
	sharedString(id.State)
	id.SchemaId = interned.String(id.SchemaId)
	id.SchemaUrl = interned.String(id.SchemaUrl)
	id.CreatedAt = times.share(id.CreatedAt)
	id.StateChangedAt = times.share(id.StateChangedAt)
	id.UpdatedAt = times.share(id.UpdatedAt)
	for i := range id.VerifiableAddresses {
		a := &id.VerifiableAddresses[i]
		a.AdditionalProperties = nilIfEmpty(a.AdditionalProperties)
	}
	for i := range id.RecoveryAddresses {
		a := &id.RecoveryAddresses[i]
		a.AdditionalProperties = nilIfEmpty(a.AdditionalProperties)
	}
}

func nilIfEmpty(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	return m
}

// The shared copies of the values every session repeats, by value: the session keeps its own
// pointer, whose string's bytes are these.
var (
	sharedAALs    = map[ory.AuthenticatorAssuranceLevel]ory.AuthenticatorAssuranceLevel{}
	sharedStrings = map[string]string{}
)

func init() {
	for _, aal := range []ory.AuthenticatorAssuranceLevel{ory.AUTHENTICATORASSURANCELEVEL_AAL0, ory.AUTHENTICATORASSURANCELEVEL_AAL1, ory.AUTHENTICATORASSURANCELEVEL_AAL2, ory.AUTHENTICATORASSURANCELEVEL_AAL3} {
		sharedAALs[aal] = aal
	}
	// Kratos's method names and identity states.
	for _, s := range []string{"password", "totp", "code", "lookup_secret", "webauthn", "passkey", "oidc", "saml", "link_recovery", "code_recovery", "active", "inactive"} {
		sharedStrings[s] = s
	}
}

// sharedAAL makes *p's text the shared copy.
func sharedAAL(p *ory.AuthenticatorAssuranceLevel) {
	if p != nil {
		if q, ok := sharedAALs[*p]; ok {
			*p = q
		}
	}
}

// sharedString makes *p's text the shared copy, if it is one of Kratos's names.
func sharedString(p *string) {
	if p != nil {
		if q, ok := sharedStrings[*p]; ok {
			*p = q
		}
	}
}

// internedString makes *p's text the interned copy.
func internedString(p *string) {
	if p != nil {
		*p = interned.String(*p)
	}
}

// timeSet hands out one pointer per distinct time within a session.
type timeSet []*time.Time

func (ts *timeSet) share(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	for _, u := range *ts {
		if *u == *t { // the same instant and location, as decoded
			return u
		}
	}
	*ts = append(*ts, t)
	return t
}

// interned holds the shared copies of repeated values that no list can name in advance: at
// most 4,096 values of at most 512 bytes each (2 MiB in all). Ory sends these values, but an
// Ory that makes each one unique must not make the table a leak; past the bound, a value is
// kept as decoded.
var interned = intern.New(4096, 512)
