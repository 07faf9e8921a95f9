package core

import (
	"testing"
	"time"

	ory "github.com/ory/client-go"
)

// session builds a verified session with a password method completed at first and, when
// second is not zero, a TOTP method completed at second; authenticated_at is the later one,
// as Kratos records it.
func session(aal ory.AuthenticatorAssuranceLevel, first, second time.Time) *ory.Session {
	active := true
	expires := first.Add(24 * time.Hour)
	authenticated := first
	methods := []ory.SessionAuthenticationMethod{{Method: ory.PtrString("password"), Aal: ory.AUTHENTICATORASSURANCELEVEL_AAL1.Ptr(), CompletedAt: &first}}
	if !second.IsZero() {
		methods = append(methods, ory.SessionAuthenticationMethod{Method: ory.PtrString("totp"), Aal: ory.AUTHENTICATORASSURANCELEVEL_AAL2.Ptr(), CompletedAt: &second})
		if second.After(first) {
			authenticated = second
		}
	}
	return &ory.Session{
		Id: "s", Active: &active, ExpiresAt: &expires, AuthenticatedAt: &authenticated,
		AuthenticatorAssuranceLevel: &aal, AuthenticationMethods: methods,
		Identity: &ory.Identity{Id: "i"},
	}
}

// TestEvaluate pins what each requirement measures: RequireAAL2's max age is the newest aal2
// method (not authenticated_at, not an aal1 method), RequireSession's is authenticated_at,
// and the boundary is inclusive (exactly maxAge old still passes).
func TestEvaluate(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	const maxAge = 5 * time.Minute
	aal2 := ory.AUTHENTICATORASSURANCELEVEL_AAL2
	aal1 := ory.AUTHENTICATORASSURANCELEVEL_AAL1
	stale := now.Add(-10 * time.Minute)
	tests := []struct {
		name    string
		require Requirement
		maxAge  time.Duration
		enforce Enforcement
		s       *ory.Session
		edit    func(*ory.Session)
		want    Outcome
	}{
		{"aal2 route, aal2 session", RequireAAL2, 0, Strict, session(aal2, stale, stale), nil, Allow},
		{"aal2 route, aal1 session, strict: enroll", RequireAAL2, 0, Strict, session(aal1, now, time.Time{}), nil, Enroll},
		{"aal2 route, aal1 session, lax step-up", RequireAAL2, 0, LaxStepUp, session(aal1, now, time.Time{}), nil, StepUp},
		{"aal2 route, aal1 session, lax enroll", RequireAAL2, 0, LaxEnroll, session(aal1, now, time.Time{}), nil, Enroll},
		{"session route, aal1 session", RequireSession, 0, Strict, session(aal1, stale, time.Time{}), nil, Allow},
		// The mutation audit's survivors: the fake used to set every time equal.
		{"aal2 max age: password now, TOTP 10 minutes ago", RequireAAL2, maxAge, Strict, session(aal2, now, stale),
			func(s *ory.Session) { s.AuthenticatedAt = &now }, Refresh},
		{"aal2 max age: TOTP now, authenticated_at stale", RequireAAL2, maxAge, Strict, session(aal2, stale, now),
			func(s *ory.Session) { s.AuthenticatedAt = &stale }, Allow},
		{"aal2 max age: an aal1 method does not count as the second factor", RequireAAL2, maxAge, Strict, session(aal2, now, stale), nil, Refresh},
		{"session max age: authenticated_at stale, aal2 method recent", RequireSession, maxAge, Strict, session(aal2, stale, now),
			func(s *ory.Session) { s.AuthenticatedAt = &stale }, Refresh},
		{"session max age: authenticated_at recent, aal2 method stale", RequireSession, maxAge, Strict, session(aal2, stale, stale),
			func(s *ory.Session) { s.AuthenticatedAt = &now }, Allow},
		{"aal2 max age: exactly max age old passes", RequireAAL2, maxAge, Strict, session(aal2, stale, now.Add(-maxAge)), nil, Allow},
		{"aal2 max age: a nanosecond more is too old", RequireAAL2, maxAge, Strict, session(aal2, stale, now.Add(-maxAge-1)), nil, Refresh},
		{"session max age: exactly max age old passes", RequireSession, maxAge, Strict, session(aal1, now.Add(-maxAge), time.Time{}), nil, Allow},
		{"session max age: a nanosecond more is too old", RequireSession, maxAge, Strict, session(aal1, now.Add(-maxAge-1), time.Time{}), nil, Refresh},
		{"max age without any second factor time", RequireAAL2, maxAge, Strict, session(aal2, now, time.Time{}), nil, Refresh},
		{"max age without authenticated_at", RequireSession, maxAge, Strict, session(aal1, now, time.Time{}),
			func(s *ory.Session) { s.AuthenticatedAt = nil }, Refresh},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.edit != nil {
				tt.edit(tt.s)
			}
			v := &Verifier{enforce: tt.enforce}
			g := &Guard{v: v, require: tt.require, maxAge: tt.maxAge}
			got, why := g.evaluate(v.newGrant(tt.s, credKey{}, instant{wall: now.UnixNano()}, time.Second), instant{wall: now.UnixNano()})
			if got != tt.want {
				t.Fatalf("evaluate = %v, want %v", got, tt.want)
			}
			// The error says why: only Strict knows the user has no second factor.
			wantWhy := map[Outcome]error{Allow: nil, StepUp: ErrAAL2Required, Refresh: ErrRefreshRequired, Enroll: ErrNoSecondFactor}[got]
			if got == Enroll && tt.enforce == LaxEnroll {
				wantWhy = ErrAAL2Required
			}
			if why != wantWhy {
				t.Fatalf("evaluate says %v why, want %v", why, wantWhy)
			}
		})
	}
}
