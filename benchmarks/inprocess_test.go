package main

// In-process benchmarks for the net/http and chi adapters (the gin, echo and fiber modules
// carry their own bench_test.go with the same three names). Each serves GET /r in-process
// with the aal2 session token of a fakeory server: Bare is the handler alone, Cached is
// RequireAAL2 with the session already in the verifier's cache (no whoami), Cold is
// RequireAAL2 with the cache off (a whoami over loopback on every request).
//
//	cd benchmarks && GOWORK=off go test -run '^$' -bench . -benchmem

import (
	"net/http"
	"net/http/httptest"
	"testing"

	gochi "github.com/go-chi/chi/v5"

	orymchi "github.com/orymfa/orymfa/chi"
	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/fakeory"
	"github.com/orymfa/orymfa/nethttp"
)

// discard is a ResponseWriter that keeps nothing, as in the other adapters' benchmarks, so
// the numbers are the router's and the middleware's rather than httptest.ResponseRecorder's.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

var benchOK = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(okBody) })

// benchServe serves GET /r through h b.N times; the first request (a recorder, checked) warms
// the verifier's cache.
func benchServe(b *testing.B, h http.Handler) {
	b.Helper()
	req := httptest.NewRequest(http.MethodGet, "/r", nil)
	req.Header.Set("X-Session-Token", fakeory.TokenAAL2)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("warm-up: status %d: %s", rec.Code, rec.Body)
	}
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		w.code = 0
		h.ServeHTTP(w, req)
		if w.code != 0 && w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
	}
}

// verifier returns a verifier for a fresh fakeory server (cache on unless noCache).
func verifier(b *testing.B, noCache bool) (*core.Verifier, *fakeory.Server) {
	b.Helper()
	fake := fakeory.New()
	b.Cleanup(fake.Close)
	v, err := core.New(core.Config{SDKURL: fake.URL, Cache: core.CacheConfig{Disabled: noCache}})
	if err != nil {
		b.Fatal(err)
	}
	return v, fake
}

func nethttpApp(mw func(http.Handler) http.Handler) http.Handler {
	mux := http.NewServeMux()
	if mw == nil {
		mux.Handle("GET /r", benchOK)
	} else {
		mux.Handle("GET /r", mw(benchOK))
	}
	return mux
}

func chiApp(mw func(http.Handler) http.Handler) http.Handler {
	r := gochi.NewRouter()
	if mw == nil {
		r.Get("/r", benchOK)
	} else {
		r.With(mw).Get("/r", benchOK)
	}
	return r
}

func BenchmarkNethttpBare(b *testing.B) { benchServe(b, nethttpApp(nil)) }

func BenchmarkNethttpCached(b *testing.B) {
	v, fake := verifier(b, false)
	benchServe(b, nethttpApp(nethttp.RequireAAL2(nethttp.WithVerifier(v))))
	if fake.Calls() != 1 {
		b.Errorf("whoami calls %d, want 1 (the warm-up)", fake.Calls())
	}
}

func BenchmarkNethttpCold(b *testing.B) {
	v, _ := verifier(b, true)
	benchServe(b, nethttpApp(nethttp.RequireAAL2(nethttp.WithVerifier(v))))
}

func BenchmarkChiBare(b *testing.B) { benchServe(b, chiApp(nil)) }

func BenchmarkChiCached(b *testing.B) {
	v, fake := verifier(b, false)
	benchServe(b, chiApp(orymchi.RequireAAL2(orymchi.WithVerifier(v))))
	if fake.Calls() != 1 {
		b.Errorf("whoami calls %d, want 1 (the warm-up)", fake.Calls())
	}
}

func BenchmarkChiCold(b *testing.B) {
	v, _ := verifier(b, true)
	benchServe(b, chiApp(orymchi.RequireAAL2(orymchi.WithVerifier(v))))
}
