package main

// In-process benchmarks for the net/http and chi adapters (the gin, echo, echo/v5, fiber and
// fiber/v3 modules carry their own bench_test.go, with BenchmarkBare and BenchmarkCached and
// the same cookie and token sub-benchmarks). Each serves GET /r in-process with an aal2
// session of an orymfatest server, as users send it:
//
//   - cookie: a browser navigation (Accept: text/html) whose Cookie header carries Kratos's
//     ~430-byte ory_kratos_session among five app cookies;
//   - token: an API call (Accept: application/json) with a 39-byte ory_st_ X-Session-Token.
//
// Bare is the handler alone; Cached is RequireAAL2 with the session already in the
// verifier's cache (one whoami, the warm-up). `go run . -inprocess 5` runs these and every
// adapter's in turn and prints the table.
//
//	cd benchmarks && GOWORK=off go test -run '^$' -bench . -benchmem

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	gochi "github.com/go-chi/chi/v5"

	orymchi "github.com/orymfa/orymfa/chi"
	orymnethttp "github.com/orymfa/orymfa/nethttp"
	"github.com/orymfa/orymfa/orymfatest"
)

var benchCredentials = []string{credCookie, credToken}

// benchSession starts a fake Ory with an aal2 session and returns the request for kind.
func benchSession(b *testing.B, kind string) (*orymfatest.Server, *http.Request) {
	b.Helper()
	srv := orymfatest.NewServer(b)
	token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)
	req := httptest.NewRequest(http.MethodGet, "/r", nil)
	switch kind {
	case credCookie:
		c := srv.Cookie(token)
		req.Header.Set("Cookie", browserCookies(c.Name, c.Value))
		req.Header.Set("Accept", acceptBrowser)
	case credToken:
		req.Header.Set("X-Session-Token", token)
		req.Header.Set("Accept", acceptAPI)
	}
	return srv, req
}

// benchServe serves req through h b.N times after one checked warm-up request.
func benchServe(b *testing.B, h http.Handler, req *http.Request) {
	b.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("warm-up: status %d: %s", rec.Code, rec.Body)
	}
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		w.code = 0
		h.ServeHTTP(w, req)
		if w.code != 0 && w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
	}
}

func benchBare(b *testing.B, app func(mw func(http.Handler) http.Handler) http.Handler) {
	for _, kind := range benchCredentials {
		b.Run(kind, func(b *testing.B) {
			_, req := benchSession(b, kind)
			benchServe(b, app(nil), req)
		})
	}
}

func benchCached(b *testing.B, app func(mw func(http.Handler) http.Handler) http.Handler, guard func(v *orymnethttp.Verifier) func(http.Handler) http.Handler) {
	for _, kind := range benchCredentials {
		b.Run(kind, func(b *testing.B) {
			srv, req := benchSession(b, kind)
			v := orymnethttp.MustNew(orymnethttp.Config{SDKURL: srv.URL, AppURL: "https://app.example", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			benchServe(b, app(guard(v)), req)
			if n := srv.Calls(); n != 1 {
				b.Errorf("whoami calls %d, want 1 (the warm-up)", n)
			}
		})
	}
}

func nethttpApp(mw func(http.Handler) http.Handler) http.Handler {
	mux := http.NewServeMux()
	if mw == nil {
		mux.Handle("GET /r", okHandler)
	} else {
		mux.Handle("GET /r", mw(okHandler))
	}
	return mux
}

func chiApp(mw func(http.Handler) http.Handler) http.Handler {
	r := gochi.NewRouter()
	if mw == nil {
		r.Get("/r", okHandler)
	} else {
		r.With(mw).Get("/r", okHandler)
	}
	return r
}

func BenchmarkNethttpBare(b *testing.B) { benchBare(b, nethttpApp) }

func BenchmarkNethttpCached(b *testing.B) {
	benchCached(b, nethttpApp, func(v *orymnethttp.Verifier) func(http.Handler) http.Handler {
		return orymnethttp.RequireAAL2(orymnethttp.WithVerifier(v))
	})
}

func BenchmarkChiBare(b *testing.B) { benchBare(b, chiApp) }

func BenchmarkChiCached(b *testing.B) {
	benchCached(b, chiApp, func(v *orymnethttp.Verifier) func(http.Handler) http.Handler {
		return orymchi.RequireAAL2(orymchi.WithVerifier(v))
	})
}
