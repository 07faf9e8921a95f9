package orymfatest_test

import (
	"strings"
	"testing"

	"github.com/orymfa/orymfa/orymfatest"
)

// Tokenize refuses what Kratos's whoami?tokenize_as refuses, failing the test with why: an
// aal1 session of a user with a second factor on a Strict project (Kratos's 403 comes before
// minting), and unknown, revoked or expired sessions. On a Lax project the aal1 session gets
// its token.
func TestTokenizeMisuse(t *testing.T) {
	rec := &fatalRecorder{TB: t}
	srv := orymfatest.NewServer(rec)
	stepUp := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	revoked := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
	srv.Revoke(revoked)
	expired := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
	srv.Expire(expired)
	for _, tc := range []struct{ name, token, want string }{
		{"Strict aal1 with a second factor", stepUp, "403 session_aal2_required"},
		{"unknown", "ory_st_nope", "unknown session token"},
		{"revoked", revoked, "revoked"},
		{"expired", expired, "expired"},
	} {
		n := len(rec.failures())
		if jwt := srv.Tokenize(tc.token); jwt != "" {
			t.Errorf("%s: a token", tc.name)
		}
		if got := rec.failures(); len(got) != n+1 || !strings.Contains(got[n], tc.want) {
			t.Errorf("%s: failures %q, want one containing %q", tc.name, got[n:], tc.want)
		}
	}
	srv.SetLax(true)
	if jwt := srv.Tokenize(stepUp); strings.Count(jwt, ".") != 2 || len(rec.failures()) != 4 {
		t.Errorf("Lax aal1: %q, failures %q", jwt, rec.failures())
	}
}
