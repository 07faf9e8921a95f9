package orymfatest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/nethttp"
	"github.com/orymfa/orymfa/orymfatest"
)

func TestNewSession(t *testing.T) {
	for _, aal := range []orymfatest.AAL{orymfatest.AAL1, orymfatest.AAL2} {
		s := orymfatest.NewSession(aal)
		wantMethods := map[orymfatest.AAL]int{orymfatest.AAL1: 1, orymfatest.AAL2: 2}[aal]
		if string(s.GetAuthenticatorAssuranceLevel()) != string(aal) || !s.GetActive() || len(s.AuthenticationMethods) != wantMethods ||
			!uuidShape.MatchString(s.Id) || s.Identity == nil || !uuidShape.MatchString(s.Identity.Id) ||
			!s.GetExpiresAt().After(time.Now()) || s.Identity.Traits.(map[string]any)["email"] == nil {
			b, _ := json.Marshal(s)
			t.Errorf("NewSession(%s): %s", aal, b)
		}
	}

	first, second := time.Now().Add(-time.Hour).UTC(), time.Now().Add(-time.Minute).UTC()
	s := orymfatest.NewSession(orymfatest.AAL2,
		orymfatest.WithIdentity(&orymfatest.Identity{ID: "0b8d5c3e-8a4f-4f0e-9f53-4d1c7c1d2e3f", Traits: map[string]any{"email": "ada@example.com"}}),
		orymfatest.WithFactorTimes(first, second))
	if s.Identity.Id != "0b8d5c3e-8a4f-4f0e-9f53-4d1c7c1d2e3f" || s.Identity.Traits.(map[string]any)["email"] != "ada@example.com" {
		t.Errorf("identity: %+v", s.Identity)
	}
	if !s.AuthenticationMethods[0].GetCompletedAt().Equal(first) || !s.AuthenticationMethods[1].GetCompletedAt().Equal(second) ||
		!s.GetIssuedAt().Equal(first) || !s.GetAuthenticatedAt().Equal(second) {
		t.Errorf("times: %+v", s)
	}

	defer func() {
		if recover() == nil {
			t.Error("NewSession(aal3) did not panic")
		}
	}()
	orymfatest.NewSession("aal3")
}

// NewSession builds the same document the server answers.
func TestNewSessionMatchesServer(t *testing.T) {
	srv := orymfatest.NewServer(t)
	id := srv.NewIdentity(orymfatest.WithSecondFactor())
	fromServer, err := json.Marshal(srv.Session(srv.SignIn(id, orymfatest.AAL2)))
	if err != nil {
		t.Fatal(err)
	}
	built, err := json.Marshal(orymfatest.NewSession(orymfatest.AAL2, orymfatest.WithIdentity(id)))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := keys(t, fromServer), keys(t, built); !slices.Equal(a, b) {
		t.Fatalf("keys differ: server %v, NewSession %v", a, b)
	}
	var a, b struct {
		Identity json.RawMessage `json:"identity"`
	}
	_ = json.Unmarshal(fromServer, &a)
	_ = json.Unmarshal(built, &b)
	if string(a.Identity) != string(b.Identity) {
		t.Fatalf("identity differs:\n%s\n%s", a.Identity, b.Identity)
	}
}

func TestWithSession(t *testing.T) {
	s := orymfatest.NewSession(orymfatest.AAL2)
	r := orymfatest.WithSession(httptest.NewRequest(http.MethodGet, "/", nil), s)
	if got, ok := orymfa.SessionFromContext(r.Context()); !ok || got != s {
		t.Fatal("net/http accessor does not find WithSession's session")
	}
	if got, ok := core.SessionFromContext(orymfatest.ContextWithSession(context.Background(), s)); !ok || got != s {
		t.Fatal("core does not find ContextWithSession's session")
	}
}
