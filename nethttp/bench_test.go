package orymfa_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	orymfa "github.com/orymfa/orymfa/nethttp"
	"github.com/orymfa/orymfa/orymfatest"
)

// benchSessions is how many distinct aal2 sessions the benchmarks cycle through, so a cached
// request finds its session among many, as on a server with many users.
const benchSessions = 1000

// benchRequests returns one GET /r per session of srv, as users send it: a browser navigation
// whose Cookie header carries Ory's session cookie (Kratos-sized, about 430 bytes) among the
// app's own cookies, or an API call with an ory_st_ session token.
func benchRequests(b *testing.B, srv *orymfatest.Server, cred string) []*http.Request {
	b.Helper()
	reqs := make([]*http.Request, benchSessions)
	for i := range reqs {
		token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)
		r := httptest.NewRequest(http.MethodGet, "/r", nil)
		switch cred {
		case "cookie":
			c := srv.Cookie(token)
			r.Header.Set("Cookie", "_ga=GA1.1.2094823482.1732451234; theme=dark; csrf_token=Zk9tYjN2cUlPd2R0a1pQb0F3d0lUbmFqRkZ5a3hJbWU; "+
				c.Name+"="+c.Value+"; app_session=6f1c2b0e9a7d4c3b8e5f1a2d0c9b8a7e6f5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b; lang=en-GB")
			r.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
		case "token":
			r.Header.Set("X-Session-Token", token)
			r.Header.Set("Accept", "application/json")
		}
		reqs[i] = r
	}
	return reqs
}

// discard is a ResponseWriter that keeps and allocates nothing, so the figures are the
// middleware's, not a recorder's.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

// serve answers every request once (the guard's cache fills), then times b.N requests, each
// the next session's.
func serve(b *testing.B, h http.Handler, reqs []*http.Request) {
	b.Helper()
	w := &discard{h: http.Header{}}
	for _, r := range reqs {
		w.code = 0
		h.ServeHTTP(w, r)
		if w.code != http.StatusNoContent {
			b.Fatalf("status %d", w.code)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		h.ServeHTTP(w, reqs[i%len(reqs)])
		i++
	}
	if w.code != http.StatusNoContent {
		b.Fatalf("status %d", w.code)
	}
}

func noContent(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }

// BenchmarkGuard serves GET /r in process for many distinct aal2 sessions, by cookie and by
// token, in three cases of one run: bare (the handler alone), lookup (a handler that only
// finds the session cookie with r.Cookie, the first step of any hand-written check) and
// cached (RequireAAL2 with every session in the verifier's cache: no call to Ory). The
// sub-benchmarks are named for benchstat:
//
//	go test -run '^$' -bench Guard -benchmem -count 6 . | tee new.txt
//	go tool -modfile=../benchmarks/go.mod benchstat -col /case new.txt
func BenchmarkGuard(b *testing.B) {
	srv := orymfatest.NewServer(b)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cached := orymfa.MustNew(orymfa.Config{SDKURL: srv.URL, AppURL: "https://app.example", Logger: quiet})
	lookup := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie(orymfatest.DefaultCookieName); err != nil && r.Header.Get("X-Session-Token") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	app := func(h http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("GET /r", h)
		return mux
	}
	for _, cred := range []string{"cookie", "token"} {
		reqs := benchRequests(b, srv, cred)
		b.Run("cred="+cred+"/case=bare", func(b *testing.B) { serve(b, app(http.HandlerFunc(noContent)), reqs) })
		b.Run("cred="+cred+"/case=lookup", func(b *testing.B) { serve(b, app(lookup), reqs) })
		b.Run("cred="+cred+"/case=cached", func(b *testing.B) {
			h := app(orymfa.RequireAAL2(orymfa.WithVerifier(cached))(http.HandlerFunc(noContent)))
			before := srv.Calls()
			serve(b, h, reqs)
			// The warm-up asks Ory once per session at most; the timed requests never do.
			if n := srv.Calls() - before; n > len(reqs) {
				b.Fatalf("%d whoami calls for %d sessions", n, len(reqs))
			}
		})
	}
}
