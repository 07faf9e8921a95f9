package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/orymfa/orymfa/internal/kratostest"
)

// The memory and hit-cost figures need many distinct sessions shaped like Kratos's: the real
// whoami body of a session the run created (or recordedKratosSession), with fresh ids and a
// fresh email per session, served for Kratos-shaped credentials by a fake whoami on loopback.

// recordedKratosSession is the whoami body of an aal2 browser session (password registration,
// then TOTP enrolled in the settings flow) answered by Ory Kratos v1.3.1 started by
// internal/kratostest, recorded once. It stands in for a live one when the command runs without
// Kratos (-loopback=false) and in the short tests; expires_at is moved into the future.
const recordedKratosSession = `{"id":"5d8ea70a-f353-4843-a277-7a3ea7732bc0","active":true,"expires_at":"2026-11-24T12:18:39.52108952Z","authenticated_at":"2026-11-24T11:18:39.521128688Z","authenticator_assurance_level":"aal2","authentication_methods":[{"method":"password","aal":"aal1","completed_at":"2026-11-24T11:18:39.521089159Z"},{"method":"totp","aal":"aal2","completed_at":"2026-11-24T11:18:39.552475061Z"}],"issued_at":"2026-11-24T11:18:39.52108952Z","identity":{"id":"cee4d858-9a1f-4af9-8b21-44c6edded742","schema_id":"default","schema_url":"http://127.0.0.1:34737/schemas/ZGVmYXVsdA","state":"active","state_changed_at":"2026-11-24T11:18:39.519263266Z","traits":{"email":"user-1795519119511462283-1@orymfa.test"},"metadata_public":null,"created_at":"2026-11-24T11:18:39.520016Z","updated_at":"2026-11-24T11:18:39.520016Z","organization_id":null},"devices":[{"id":"1d280441-b408-49cf-9c93-9fd208c24cfd","ip_address":"127.0.0.1:41046","user_agent":"Go-http-client/1.1","location":""}]}`

// kratosCookieLen is the length of a Kratos v1.3.1 ory_kratos_session cookie value (issue 12
// measured 428 bytes); the run uses the real one's length when it has one.
const kratosCookieLen = 428

var (
	uuidRE      = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	emailRE     = regexp.MustCompile(`"email":"[^"]{8,}"`)
	expiresAtRE = regexp.MustCompile(`"expires_at":"[^"]*"`)
)

// sessionTemplate makes distinct copies of one Kratos session document.
type sessionTemplate struct {
	parts []string // the document, cut at each id and email
	slots []int    // between parts[i] and parts[i+1]: the n-th distinct id (≥ 0) or the email (-1)
}

// newSessionTemplate cuts body at every UUID and at the email trait, and moves expires_at an
// hour from now (a recorded document may have expired).
func newSessionTemplate(body []byte) (*sessionTemplate, error) {
	s := expiresAtRE.ReplaceAllLiteralString(string(body), `"expires_at":"`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)+`"`)
	if !strings.Contains(s, `"expires_at"`) {
		return nil, fmt.Errorf("session document without expires_at: %.200s", s)
	}
	type match struct{ start, end, slot int }
	var ms []match
	ids := map[string]int{}
	for _, m := range uuidRE.FindAllStringIndex(s, -1) {
		id := s[m[0]:m[1]]
		n, ok := ids[id]
		if !ok {
			n = len(ids)
			ids[id] = n
		}
		ms = append(ms, match{m[0], m[1], n})
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("session document without ids: %.200s", s)
	}
	for _, m := range emailRE.FindAllStringIndex(s, -1) {
		ms = append(ms, match{m[0] + len(`"email":"`), m[0] + len(`"email":"`) + 8, -1}) // the first 8 bytes of the address
	}
	// Sort by position (few matches: insertion sort).
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].start < ms[j-1].start; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
	t := &sessionTemplate{}
	prev := 0
	for _, m := range ms {
		t.parts = append(t.parts, s[prev:m.start])
		t.slots = append(t.slots, m.slot)
		prev = m.end
	}
	t.parts = append(t.parts, s[prev:])
	return t, nil
}

// body returns session i's document: the template's ids replaced by ids unique to i, and
// the email's first 8 bytes by i.
func (t *sessionTemplate) body(i int) []byte {
	var b strings.Builder
	b.Grow(len(t.parts[0]) * 2)
	for k, p := range t.parts {
		b.WriteString(p)
		if k == len(t.slots) {
			break
		}
		if t.slots[k] < 0 {
			fmt.Fprintf(&b, "%08d", i%100_000_000)
		} else {
			b.WriteString(uuidFor(i, t.slots[k]))
		}
	}
	return []byte(b.String())
}

// splitmix64 is a tiny deterministic mixer for ids and credentials.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// uuidFor is the n-th id of session i, shaped like a version 4 UUID.
func uuidFor(i, n int) string {
	a, b := splitmix64(uint64(i)<<8|uint64(n)), splitmix64(uint64(i)<<8|uint64(n)|1<<63)
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", uint32(a>>32), uint16(a>>16), uint16(a)&0xfff, uint16(b>>48)&0x3fff|0x8000, b&0xffffffffffff)
}

// fillChars writes deterministic characters of alphabet derived from seed into b.
func fillChars(b []byte, seed uint64, alphabet string) {
	x := seed
	for i := range b {
		if i%8 == 0 {
			x = splitmix64(x + uint64(i))
		}
		b[i] = alphabet[int(x&0xff)%len(alphabet)]
		x >>= 8
	}
}

const cookieAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// sessionToken is session i's token: ory_st_ and 32 characters (the first 8 are i).
func sessionToken(i int) string {
	b := make([]byte, 39)
	copy(b, "ory_st_")
	copy(b[7:], fmt.Sprintf("%08d", i))
	fillChars(b[15:], uint64(i), tokenAlphabet)
	return string(b)
}

// sessionCookie is session i's ory_kratos_session value, n bytes (the first 8 are i), in
// the URL-safe base64 alphabet of Kratos's signed cookie.
func sessionCookie(i, n int) string {
	b := make([]byte, n)
	copy(b, fmt.Sprintf("%08d", i))
	fillChars(b[8:], uint64(i)|1<<62, cookieAlphabet)
	return string(b)
}

// sessionIndex reads the session number out of a credential made by sessionToken or
// sessionCookie.
func sessionIndex(cred string) (int, bool) {
	cred = strings.TrimPrefix(cred, "ory_st_")
	if len(cred) < 8 {
		return 0, false
	}
	i, err := strconv.Atoi(cred[:8])
	return i, err == nil && i >= 0
}

// fakeKratos answers whoami for the credentials of sessionToken and sessionCookie with
// template's session i, and 401 for anything else, as Kratos does. It counts the calls.
type fakeKratos struct {
	*httptest.Server
	calls atomic.Int64
}

func newFakeKratos(t *sessionTemplate) *fakeKratos {
	f := &fakeKratos{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		cred := r.Header.Get("X-Session-Token")
		if c, err := r.Cookie(kratostest.SessionCookieName); err == nil && cred == "" {
			cred = c.Value
		}
		i, ok := sessionIndex(cred)
		if r.URL.Path != "/sessions/whoami" || !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":401,"status":"Unauthorized","reason":"No valid session credentials found in the request.","message":"The request could not be authorized"}}`))
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(t.body(i))
	}))
	return f
}
