package core

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	ory "github.com/ory/client-go"
)

// A session as Kratos v1.3.1 sends it (TOTP project, after enrollment), plus a field a newer
// Ory might add.
const kratosSession = `{"id":"e523a4b8-006f-4067-97fc-8ee4bf90689a","active":true,"expires_at":"2026-11-25T11:25:40.073699972Z","authenticated_at":"2026-11-24T11:25:40.073699972Z","authenticator_assurance_level":"aal2","authentication_methods":[{"method":"password","aal":"aal1","completed_at":"2026-11-24T11:25:40.073699972Z"},{"method":"totp","aal":"aal2","completed_at":"2026-11-24T11:26:01.5Z"}],"issued_at":"2026-11-24T11:25:40.073699972Z","identity":{"id":"c34b1d5a-5be0-422a-9e0d-8051df76f47d","schema_id":"default","schema_url":"http://127.0.0.1:4433/schemas/ZGVmYXVsdA","state":"active","state_changed_at":"2026-11-24T11:25:40.073696466Z","traits":{"email":"ada@example.com"},"metadata_public":null,"created_at":"2026-11-24T11:25:40.073696466Z","updated_at":"2026-11-24T11:25:40.073696466Z","organization_id":null,"future_field":{"x":1}},"devices":[{"id":"3a89653e-2e65-43fa-ac76-92243a440012","ip_address":"127.0.0.1:51234","user_agent":"Mozilla/5.0","location":""}]}`

func decodeSession(t testing.TB) *ory.Session {
	t.Helper()
	s := new(ory.Session)
	if err := json.Unmarshal([]byte(kratosSession), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// asKratosSends is kratosSession without the newer Ory's field.
var asKratosSends = strings.Replace(kratosSession, `,"future_field":{"x":1}`, "", 1)

func decodeKratosSession(t testing.TB) *ory.Session {
	t.Helper()
	s := new(ory.Session)
	if err := json.Unmarshal([]byte(asKratosSends), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// Compacting a session changes nothing anyone can read: the same JSON, the same values, and
// fields it does not know (a newer Ory's) kept.
func TestCompactKeepsEveryValue(t *testing.T) {
	s := decodeSession(t)
	before, _ := json.Marshal(s)
	compact(s)
	after, _ := json.Marshal(s)
	if string(before) != string(after) {
		t.Fatalf("compacting changed the session:\n%s\n%s", before, after)
	}
	if s.Identity.AdditionalProperties["future_field"] == nil {
		t.Fatal("an unknown field was dropped")
	}
	if s.AuthenticatedAt != s.IssuedAt || s.AuthenticatedAt == s.AuthenticationMethods[1].CompletedAt {
		t.Fatal("equal times are not shared, or different ones are")
	}
}

// BenchmarkSessionMemory reports the heap a decoded session keeps, as client-go leaves it and
// compacted (the aim: at most 1.5 KB per cached session, cache entry included; the load
// benchmark measures it at 100,000 sessions against real Kratos).
func BenchmarkSessionMemory(b *testing.B) {
	for _, tc := range []struct {
		name    string
		compact bool
	}{{"decoded", false}, {"compacted", true}} {
		b.Run(tc.name, func(b *testing.B) {
			const n = 2000
			keep := make([]*ory.Session, n)
			var before, after runtime.MemStats
			for b.Loop() {
				clear(keep)
				runtime.GC()
				runtime.ReadMemStats(&before)
				for i := range keep {
					keep[i] = decodeKratosSession(b)
					if tc.compact {
						compact(keep[i])
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
			}
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/session")
			runtime.KeepAlive(keep)
		})
	}
}

// Values many sessions repeat (the schema, a device's user agent and location) are shared
// between sessions, as immutable string bytes only, never as a pointer (the table that shares them, bounded in count and in length, is tested in
// internal/intern).
func TestCompactSharesRepeatedValues(t *testing.T) {
	a, b := decodeKratosSession(t), decodeKratosSession(t)
	compact(a)
	compact(b)
	if unsafe.StringData(a.Identity.SchemaUrl) != unsafe.StringData(b.Identity.SchemaUrl) ||
		unsafe.StringData(a.Identity.SchemaId) != unsafe.StringData(b.Identity.SchemaId) {
		t.Error("the identity schema's id and URL are not shared between sessions")
	}
	if unsafe.StringData(*a.Devices[0].UserAgent) != unsafe.StringData(*b.Devices[0].UserAgent) {
		t.Error("a device's user agent is not shared between sessions")
	}
	if a.Devices[0].UserAgent == b.Devices[0].UserAgent || a.AuthenticatorAssuranceLevel == b.AuthenticatorAssuranceLevel ||
		a.AuthenticationMethods[0].Method == b.AuthenticationMethods[0].Method || a.Identity.State == b.Identity.State {
		t.Error("sessions share a pointer: a write through one session's would change the other's")
	}
	if unsafe.StringData(a.Id) == unsafe.StringData(b.Id) {
		t.Error("values no other session repeats (the session id) are shared")
	}

}
