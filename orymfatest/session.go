package orymfatest

import (
	"encoding/json"
	"net/http"
	"time"

	ory "github.com/ory/client-go"
)

// AAL is an authenticator assurance level, as Kratos writes it in
// authenticator_assurance_level.
type AAL string

const (
	// AAL1 is a session proven with one factor (a password).
	AAL1 AAL = "aal1"
	// AAL2 is a session proven with a second factor too (TOTP here).
	AAL2 AAL = "aal2"
)

// Lifespan is how long a session lives after sign-in or step-up: Kratos's default
// session.lifespan.
const Lifespan = 24 * time.Hour

// The methods the kit records: Kratos writes the credential type of each completed factor.
const (
	methodPassword = "password"
	methodTOTP     = "totp"
)

// sessionRecord is one session of the fake Ory, keyed by its token. Guarded by the server's
// mutex.
type sessionRecord struct {
	id              string
	identity        *identityRecord
	issuedAt        time.Time
	authenticatedAt time.Time
	expiresAt       time.Time
	methods         []methodDocument
	device          deviceDocument
	revoked         bool
	cookie          string // the newest browser cookie value
}

// aal is what Kratos derives from the completed methods: aal2 once any aal2 method is done.
func (se *sessionRecord) aal() AAL {
	for _, m := range se.methods {
		if m.AAL == AAL2 {
			return AAL2
		}
	}
	return AAL1
}

// newSessionRecord signs ident in at now: a password login, plus a TOTP step-up at the same
// instant for aal2.
func newSessionRecord(ident *identityRecord, aal AAL, now time.Time) *sessionRecord {
	se := &sessionRecord{
		id:              newUUID(),
		identity:        ident,
		issuedAt:        now,
		authenticatedAt: now,
		expiresAt:       now.Add(Lifespan),
		methods:         []methodDocument{{Method: methodPassword, AAL: AAL1, CompletedAt: now}},
		device:          deviceDocument{ID: newUUID(), IPAddress: "127.0.0.1", UserAgent: "orymfatest", Location: ""},
	}
	if aal == AAL2 {
		se.methods = append(se.methods, methodDocument{Method: methodTOTP, AAL: AAL2, CompletedAt: now})
	}
	return se
}

// SignIn starts a session for id at the given AAL, as a password login (aal1) or a password
// login followed by a TOTP step-up (aal2) would, and returns its session token: ory_st_ and 32
// random letters and digits, like Kratos's. The same value is also accepted as the
// ory_kratos_session cookie (see [Server.Cookie]), so one sign-in serves API and browser
// tests.
//
// SignIn(id, AAL2) on an identity without a second factor gives it one first, as if the user
// had enrolled TOTP: from then on its aal1 sessions get 403 session_aal2_required on a Strict
// project. An identity of another server or an AAL other than AAL1 and AAL2 fails the test.
func (s *Server) SignIn(id *Identity, aal AAL) string {
	s.tb.Helper()
	if id == nil || id.s != s || id.rec == nil {
		s.tb.Fatalf("orymfatest: SignIn: the identity was not created by this server's NewIdentity")
		return ""
	}
	if aal != AAL1 && aal != AAL2 {
		s.tb.Fatalf("orymfatest: SignIn: AAL %q is neither AAL1 nor AAL2", aal)
		return ""
	}
	token := newToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	if aal == AAL2 {
		id.rec.secondFactor = true
	}
	s.sessions[token] = newSessionRecord(id.rec, aal, time.Now().UTC())
	s.newCookie(token)
	return token
}

// newCookie gives token's session a new browser cookie value, as Kratos does on every login
// and step-up. Kratos's value is an encrypted container of about 430 bytes; the kit's has the
// same size and alphabet, so code that parses cookies sees what it will see in production.
// Earlier values stay valid, as they do in Kratos (they name the same session). Called with
// s.mu held.
func (s *Server) newCookie(token string) {
	v := newCookieValue()
	s.cookies[v] = token
	s.sessions[token].cookie = v
}

// StepUp proves the second factor on token's session now; the token stays the same, as with
// Kratos's API flows (a browser's cookie value would change, the session would not). What it
// does depends on the identity, as in Kratos:
//   - with a second factor and an aal1 session: an aal2 login (?aal=aal2). A TOTP method
//     completed now is added; authenticated_at and expires_at move to now and now+[Lifespan].
//   - with a second factor and an aal2 session: a refresh (?refresh=true&aal=aal2). Another
//     TOTP method completed now is added; authenticated_at and expires_at move as above.
//   - without a second factor: TOTP enrollment in the settings flow. The identity gains a
//     second factor and the same session becomes aal2 at once, with a TOTP method completed
//     now; authenticated_at and expires_at do not move.
//
// An unknown, revoked or expired token fails the test.
func (s *Server) StepUp(token string) {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.liveSession("StepUp", token)
	if se == nil {
		return
	}
	now := time.Now().UTC()
	if !se.identity.secondFactor {
		se.identity.secondFactor = true
	} else {
		se.authenticatedAt = now
		se.expiresAt = now.Add(Lifespan)
	}
	se.methods = append(se.methods, methodDocument{Method: methodTOTP, AAL: AAL2, CompletedAt: now})
	s.newCookie(token)
}

// Cookie returns the browser session cookie for token, named as whoami expects it
// (ory_kratos_session unless [Server.SetCookieName] changed it), with Kratos's attributes
// (Path=/, HttpOnly, SameSite=Lax), ready for req.AddCookie or a cookie jar. Its value is
// Kratos-sized (about 430 bytes) and, as in Kratos, changes with every step-up. The token
// itself is accepted as the cookie value too; for a token the server does not know, the
// cookie carries the token, so a test can build a cookie for a session that does not exist.
func (s *Server) Cookie(token string) *http.Cookie {
	s.mu.Lock()
	defer s.mu.Unlock()
	value := token
	if se := s.sessions[token]; se != nil {
		value = se.cookie
	}
	return &http.Cookie{Name: s.cookieName, Value: value, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}
}

// Revoke ends token's session, as a logout or an admin's revocation does: whoami answers 401
// afterwards. Revoking twice is fine; an unknown token fails the test.
func (s *Server) Revoke(token string) {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if se := s.knownSession("Revoke", token); se != nil {
		se.revoked = true
	}
}

// Expire moves token's expires_at into the past, so whoami answers 401 as Kratos does for an
// expired session. An unknown token fails the test.
func (s *Server) Expire(token string) {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if se := s.knownSession("Expire", token); se != nil {
		se.expiresAt = time.Now().UTC().Add(-time.Second)
	}
}

// Backdate moves token's issued_at, authenticated_at and every method's completed_at d into
// the past, as if the user had signed in (and stepped up) d ago: a session to test
// WithMaxAge with. expires_at stays, so the session remains valid. An unknown token or a
// negative d fails the test.
func (s *Server) Backdate(token string, d time.Duration) {
	s.tb.Helper()
	if d < 0 {
		s.tb.Fatalf("orymfatest: Backdate: negative duration %v", d)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.knownSession("Backdate", token)
	if se == nil {
		return
	}
	se.issuedAt = se.issuedAt.Add(-d)
	se.authenticatedAt = se.authenticatedAt.Add(-d)
	for i := range se.methods {
		se.methods[i].CompletedAt = se.methods[i].CompletedAt.Add(-d)
	}
}

// SetFactorTimes sets when token's factors were proven: first for every aal1 method (the
// password), second for every aal2 method (TOTP), independently, e.g. a password proven now
// and TOTP ten minutes ago. authenticated_at becomes the later of the two (Kratos's "time of
// the last factor") and issued_at the earlier. For an aal1 session second must be the zero
// time. An unknown token, a zero first, or a second that does not match the session's AAL
// fails the test.
func (s *Server) SetFactorTimes(token string, first, second time.Time) {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.knownSession("SetFactorTimes", token)
	if se == nil {
		return
	}
	switch {
	case first.IsZero():
		s.tb.Fatalf("orymfatest: SetFactorTimes: the first factor's time is zero")
		return
	case se.aal() == AAL1 && !second.IsZero():
		s.tb.Fatalf("orymfatest: SetFactorTimes: the session is aal1, it has no second factor to date (pass a zero second)")
		return
	case se.aal() == AAL2 && second.IsZero():
		s.tb.Fatalf("orymfatest: SetFactorTimes: the session is aal2, give its second factor a time")
		return
	}
	first, second = first.UTC(), second.UTC()
	for i, m := range se.methods {
		if m.AAL == AAL2 {
			se.methods[i].CompletedAt = second
		} else {
			se.methods[i].CompletedAt = first
		}
	}
	se.issuedAt, se.authenticatedAt = first, first
	if !second.IsZero() {
		if second.Before(first) {
			se.issuedAt = second
		} else {
			se.authenticatedAt = second
		}
	}
}

// Session returns token's session as whoami shows it when it answers 200, decoded into the
// client-go type the middleware hands to handlers, whatever whoami would answer now (so also
// for an aal1 session that gets 403, or a revoked one). An unknown token fails the test.
func (s *Server) Session(token string) *ory.Session {
	s.tb.Helper()
	doc, ok := s.sessionDocument(token)
	if !ok {
		return nil
	}
	sess, err := decodeSession(doc)
	if err != nil {
		s.tb.Fatalf("orymfatest: Session: %v", err)
	}
	return sess
}

func (s *Server) sessionDocument(token string) (sessionDocument, bool) {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.knownSession("Session", token)
	if se == nil {
		return sessionDocument{}, false
	}
	return se.document(s.URL), true
}

// decodeSession turns a document into the client-go type through JSON, exactly as the
// middleware's client decodes whoami.
func decodeSession(doc sessionDocument) (*ory.Session, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var sess ory.Session
	if err := json.Unmarshal(b, &sess); err != nil {
		return nil, err
	}
	return &sess, nil
}

// knownSession returns token's session or fails the test. Called with s.mu held.
func (s *Server) knownSession(method, token string) *sessionRecord {
	s.tb.Helper()
	se, ok := s.sessions[token]
	if !ok {
		// Fatalf ends the goroutine; the callers unlock s.mu in a defer, so it is released.
		s.tb.Fatalf("orymfatest: %s: unknown session token %q (tokens come from SignIn)", method, token)
		return nil
	}
	return se
}

// liveSession is knownSession for a session that must still be valid. Called with s.mu held.
func (s *Server) liveSession(method, token string) *sessionRecord {
	s.tb.Helper()
	se := s.knownSession(method, token)
	switch {
	case se == nil:
		return nil
	case se.revoked:
		s.tb.Fatalf("orymfatest: %s: the session was revoked", method)
		return nil
	case !time.Now().Before(se.expiresAt):
		s.tb.Fatalf("orymfatest: %s: the session has expired", method)
		return nil
	}
	return se
}
