package orymfatest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// The types below encode a session exactly as Kratos v1.3.1's whoami does: the same keys, in
// the same order, with the same nulls and omissions (the faithfulness test compares them with
// a real Kratos). A project without verification or recovery has no verifiable_addresses or
// recovery_addresses, and Kratos omits them; credentials and metadata_admin are never shown.

type sessionDocument struct {
	ID              string           `json:"id"`
	Active          bool             `json:"active"`
	ExpiresAt       time.Time        `json:"expires_at"`
	AuthenticatedAt time.Time        `json:"authenticated_at"`
	AAL             AAL              `json:"authenticator_assurance_level"`
	Methods         []methodDocument `json:"authentication_methods"`
	IssuedAt        time.Time        `json:"issued_at"`
	Identity        identityDocument `json:"identity"`
	Devices         []deviceDocument `json:"devices"`
	Tokenized       string           `json:"tokenized,omitempty"`
}

type methodDocument struct {
	Method      string    `json:"method"`
	AAL         AAL       `json:"aal"`
	CompletedAt time.Time `json:"completed_at"`
}

type identityDocument struct {
	ID             string          `json:"id"`
	SchemaID       string          `json:"schema_id"`
	SchemaURL      string          `json:"schema_url"`
	State          string          `json:"state"`
	StateChangedAt time.Time       `json:"state_changed_at"`
	Traits         json.RawMessage `json:"traits"`
	MetadataPublic json.RawMessage `json:"metadata_public"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
	OrganizationID *string         `json:"organization_id"`
}

type deviceDocument struct {
	ID        string `json:"id"`
	IPAddress string `json:"ip_address"`
	UserAgent string `json:"user_agent"`
	Location  string `json:"location"`
}

// schemaPath is where Kratos serves the default identity schema: /schemas/ + base64url("default").
const schemaPath = "/schemas/ZGVmYXVsdA"

// document renders a session for whoami. baseURL is the public URL the schema URL points at.
func (se *sessionRecord) document(baseURL string) sessionDocument {
	methods := make([]methodDocument, len(se.methods))
	copy(methods, se.methods)
	metadata := se.identity.metadata
	if metadata == nil {
		metadata = json.RawMessage("null")
	}
	return sessionDocument{
		ID:              se.id,
		Active:          true,
		ExpiresAt:       se.expiresAt,
		AuthenticatedAt: se.authenticatedAt,
		AAL:             se.aal(),
		Methods:         methods,
		IssuedAt:        se.issuedAt,
		Identity: identityDocument{
			ID:             se.identity.id,
			SchemaID:       "default",
			SchemaURL:      baseURL + schemaPath,
			State:          "active",
			StateChangedAt: se.identity.createdAt,
			Traits:         se.identity.traits,
			MetadataPublic: metadata,
			CreatedAt:      se.identity.createdAt,
			UpdatedAt:      se.identity.createdAt,
		},
		Devices: []deviceDocument{se.device},
	}
}

// newUUID returns a random (version 4) UUID, the shape of every Kratos id.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand documents it)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// tokenPrefix starts every Kratos session token.
const tokenPrefix = "ory_st_"

// newToken returns a session token shaped like Kratos's: ory_st_ and 32 random alphanumerics.
// newCookieValue is a random value shaped like Kratos's session cookie: 428 characters of
// base64url (a gorilla/securecookie container).
func newCookieValue() string {
	var b [321]byte
	_, _ = rand.Read(b[:])
	return base64.URLEncoding.EncodeToString(b[:])
}

func newToken() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	out := make([]byte, 0, len(tokenPrefix)+32)
	out = append(out, tokenPrefix...)
	var buf [64]byte
	for len(out) < cap(out) {
		_, _ = rand.Read(buf[:])
		for _, c := range buf {
			// Reject the top of the byte range so every letter is equally likely.
			if int(c) < 4*len(alphabet) && len(out) < cap(out) {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out)
}
