package orymfatest

import (
	"encoding/json"
	"fmt"
	"time"
)

// Identity is a user of the fake Ory, created by [Server.NewIdentity]. Changing its fields
// afterwards does not change what the server answers.
type Identity struct {
	// ID is the identity's id, a random UUID as Kratos gives it.
	ID string
	// Traits are the identity's traits as given to [WithTraits], or the default
	// {"email": "user-N@example.com"} with N unique per server.
	Traits map[string]any

	s   *Server
	rec *identityRecord
}

// HasSecondFactor reports whether the identity has a second factor: it was created with
// [WithSecondFactor], or gained one through [Server.StepUp] (TOTP enrollment) or an aal2
// [Server.SignIn].
func (id *Identity) HasSecondFactor() bool {
	if id == nil || id.s == nil {
		return false
	}
	id.s.mu.Lock()
	defer id.s.mu.Unlock()
	return id.rec.secondFactor
}

// IdentityOption configures an identity created by [Server.NewIdentity].
type IdentityOption func(*identityConfig)

type identityConfig struct {
	traits       map[string]any
	metadata     map[string]any
	secondFactor bool
}

// WithSecondFactor gives the identity a second factor (TOTP) from the start. On a Strict
// project whoami then answers 403 session_aal2_required for its aal1 sessions, as Kratos does
// for a user who has enrolled TOTP, or for every user of a project with one-time codes as
// second factor (code.mfa_enabled).
func WithSecondFactor() IdentityOption {
	return func(c *identityConfig) { c.secondFactor = true }
}

// WithTraits sets the identity's traits (the identity schema's "traits" object), e.g.
// {"email": "ada@example.com", "name": {"first": "Ada"}}. They must encode as JSON.
func WithTraits(traits map[string]any) IdentityOption {
	return func(c *identityConfig) { c.traits = traits }
}

// WithMetadataPublic sets the identity's metadata_public, which whoami shows (Kratos answers
// null when it is unset). It must encode as a JSON object.
func WithMetadataPublic(metadata map[string]any) IdentityOption {
	return func(c *identityConfig) { c.metadata = metadata }
}

// identityRecord is the server's own copy of an identity. secondFactor is guarded by the
// server's mutex; the rest never changes after creation.
type identityRecord struct {
	id           string
	traits       json.RawMessage
	metadata     json.RawMessage // nil encodes as null, as Kratos shows an unset one
	createdAt    time.Time
	secondFactor bool
}

// NewIdentity creates an identity, as a registration would, without signing it in (see
// [Server.SignIn]). Without options it has a unique email trait and no second factor.
// Traits that do not encode as JSON fail the test.
func (s *Server) NewIdentity(opts ...IdentityOption) *Identity {
	s.tb.Helper()
	var c identityConfig
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	rec, traits, err := newIdentityRecord(c, func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.emailSeq++
		return s.emailSeq
	})
	if err != nil {
		s.tb.Fatalf("orymfatest: NewIdentity: %v", err)
		return nil
	}
	s.mu.Lock()
	s.identities[rec.id] = rec
	s.mu.Unlock()
	return &Identity{ID: rec.id, Traits: traits, s: s, rec: rec}
}

// newIdentityRecord builds an identity from its options; seq numbers the default email.
// The traits are encoded now, so later changes to the caller's map do not race with the
// server reading them.
func newIdentityRecord(c identityConfig, seq func() int) (*identityRecord, map[string]any, error) {
	traits := c.traits
	if traits == nil {
		traits = map[string]any{"email": fmt.Sprintf("user-%d@example.com", seq())}
	}
	rawTraits, err := json.Marshal(traits)
	if err != nil {
		return nil, nil, fmt.Errorf("traits do not encode as JSON: %w", err)
	}
	rec := &identityRecord{
		id:           newUUID(),
		traits:       rawTraits,
		createdAt:    time.Now().UTC(),
		secondFactor: c.secondFactor,
	}
	if c.metadata != nil {
		if rec.metadata, err = json.Marshal(c.metadata); err != nil {
			return nil, nil, fmt.Errorf("metadata_public does not encode as JSON: %w", err)
		}
	}
	return rec, traits, nil
}
