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
//   - The small values every session repeats (active, the assurance levels, the method
//     names, the identity's state) point at one shared copy instead of one each, and equal
//     times within the session (a sign-in's authenticated_at, issued_at and completed_at;
//     an identity's created_at, state_changed_at and updated_at) at one of them. Sessions
//     are read-only for their users (see SessionFromContext), so sharing is safe.
//   - The values many sessions repeat but no list can name (the identity schema's id and
//     URL, a device's user agent and location) are interned: the first few thousand distinct
//     ones get one shared copy each, for the life of the process.
func compact(s *ory.Session) {
	var times timeSet
	s.AuthenticatedAt = times.share(s.AuthenticatedAt)
	s.IssuedAt = times.share(s.IssuedAt)
	s.ExpiresAt = times.share(s.ExpiresAt)
	s.AdditionalProperties = nilIfEmpty(s.AdditionalProperties)
	s.Active = shared(s.Active, &sharedTrue)
	s.AuthenticatorAssuranceLevel = sharedAAL(s.AuthenticatorAssuranceLevel)
	for i := range s.AuthenticationMethods {
		m := &s.AuthenticationMethods[i]
		m.AdditionalProperties = nilIfEmpty(m.AdditionalProperties)
		m.Aal = sharedAAL(m.Aal)
		m.Method = sharedString(m.Method)
		m.CompletedAt = times.share(m.CompletedAt)
	}
	for i := range s.Devices {
		d := &s.Devices[i]
		d.AdditionalProperties = nilIfEmpty(d.AdditionalProperties)
		d.UserAgent = interned.Pointer(d.UserAgent)
		d.Location = interned.Pointer(d.Location)
	}
	id := s.Identity
	if id == nil {
		return
	}
	id.AdditionalProperties = nilIfEmpty(id.AdditionalProperties)
	id.State = sharedString(id.State)
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

// The shared copies. Pointers to them must never be written through.
var (
	sharedTrue = true
	sharedAALs = map[ory.AuthenticatorAssuranceLevel]*ory.AuthenticatorAssuranceLevel{
		ory.AUTHENTICATORASSURANCELEVEL_AAL0: ory.AUTHENTICATORASSURANCELEVEL_AAL0.Ptr(),
		ory.AUTHENTICATORASSURANCELEVEL_AAL1: ory.AUTHENTICATORASSURANCELEVEL_AAL1.Ptr(),
		ory.AUTHENTICATORASSURANCELEVEL_AAL2: ory.AUTHENTICATORASSURANCELEVEL_AAL2.Ptr(),
		ory.AUTHENTICATORASSURANCELEVEL_AAL3: ory.AUTHENTICATORASSURANCELEVEL_AAL3.Ptr(),
	}
	sharedStrings = map[string]*string{}
)

func init() {
	// Kratos's method names and identity states.
	for _, s := range []string{"password", "totp", "code", "lookup_secret", "webauthn", "passkey", "oidc", "saml", "link_recovery", "code_recovery", "active", "inactive"} {
		sharedStrings[s] = &s
	}
}

func shared[T comparable](p *T, same *T) *T {
	if p != nil && *p == *same {
		return same
	}
	return p
}

func sharedAAL(p *ory.AuthenticatorAssuranceLevel) *ory.AuthenticatorAssuranceLevel {
	if p != nil {
		if q, ok := sharedAALs[*p]; ok {
			return q
		}
	}
	return p
}

func sharedString(p *string) *string {
	if p != nil {
		if q, ok := sharedStrings[*p]; ok {
			return q
		}
	}
	return p
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
