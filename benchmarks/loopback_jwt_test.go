package benchmarks

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/conformance"
)

// BenchmarkLoopbackJWT measures every adapter of the registry over loopback with Ory's
// tokenized sessions: the same 32 workers send "Authorization: Bearer <JWT>" (one JWT per
// worker's session, minted by the shared Kratos with core.ClaimsMapper) to RequireAAL2 in JWT
// mode (case=jwt), against the app's unguarded route (case=bare). The target: jwt ÷ bare ≥
// 0.95 in req/s, with whoami/Mreq 0 (Kratos's own counter: a JWT never reaches whoami).
//
//	go tool benchstat -table .config,.name -col /case bench.txt
func BenchmarkLoopbackJWT(b *testing.B) {
	bd := kratosBed(b)
	minter := core.MustNew(core.Config{SDKURL: bd.p.PublicURL, AppURL: "http://127.0.0.1", Tokens: bd.p.TokenConfig()})
	var jwts []string
	for _, c := range bd.cookies {
		jwt, err := minter.SessionJWT(context.Background(), &core.Request{Cookie: c})
		if err != nil {
			b.Fatal(err)
		}
		jwts = append(jwts, "Bearer "+jwt)
	}
	for _, a := range conformance.Adapters {
		url := serveTokenApp(b, a, bd.p.PublicURL, bd.p.TokenConfig())
		b.Run("adapter="+a.Name+"/case=bare", func(b *testing.B) {
			load(b, url+"/public", jwts, nil)
		})
		calls := &whoamiCount{count: func() int64 { return bd.whoamiCalls(b) }}
		b.Run("adapter="+a.Name+"/case=jwt", func(b *testing.B) {
			load(b, url+"/aal2", jwts, calls)
		})
	}
}

// serveTokenApp serves a's app (internal/conformance) with a verifier in JWT mode: /public
// unguarded, /aal2 behind RequireAAL2, both answering a small JSON body.
func serveTokenApp(b testing.TB, a conformance.Adapter, oryURL string, tc core.TokenConfig) string {
	fwd, _ := forwarder(b, strings.TrimPrefix(oryURL, "http://"))
	tc.Issuer = oryURL + "/" // Kratos's, though the verifier reaches it through the forwarder
	v, err := core.New(core.Config{
		SDKURL: fwd, AppURL: "http://127.0.0.1", Tokens: tc,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"ok":true}`)
	return a.Serve(b, conformance.App{
		Verifier: v, Other: v, MaxAge: time.Hour,
		Handle: func(_, _ *ory.Session) (int, []byte) { return http.StatusOK, body },
		Deny:   func(*core.Decision) (int, []byte) { return http.StatusForbidden, nil },
	})
}
