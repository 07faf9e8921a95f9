package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orymfa/orymfa/core"
)

// memResult is the heap cost of a verifier cache holding Entries sessions.
type memResult struct {
	Entries  int
	Bytes    int64 // HeapAlloc after fill minus before, both after a GC
	BodySize int   // size of the whoami answer each session was decoded from
}

func (m memResult) PerEntry() float64 { return float64(m.Bytes) / float64(m.Entries) }

// cacheMemory fills a fresh verifier's cache with k distinct sessions, each decoded from body
// (served for any token by a fake whoami on loopback), and measures the live heap it adds.
func cacheMemory(ctx context.Context, body []byte, k int) (memResult, error) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/sessions/whoami" || r.Header.Get("X-Session-Token") == "" {
			http.Error(w, `{"error":{"code":401,"status":"unauthorized","message":"no session"}}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	const workers = 8
	api, _ := oryClient(srv.URL, workers)
	// A long TTL so that no entry expires while the cache fills on a slow machine; the TTL does
	// not change the size of an entry. MaxEntries is the default cap (10,000) or k if larger.
	cache := core.CacheConfig{TTL: 10 * time.Minute, MaxEntries: max(k, 10_000)}

	fill := func(v *core.Verifier, prefix string, n int) error {
		g, err := core.NewGuard(core.RequireSession, core.WithVerifier(v), core.WithMode(core.ModeAPI))
		if err != nil {
			return err
		}
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for range workers {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= int64(n) || ctx.Err() != nil {
						return
					}
					req := core.Request{Method: http.MethodGet, URI: "/", Host: "app.test", SessionToken: prefix + strconv.FormatInt(i, 10)}
					if d := g.Check(ctx, &req); !d.Allowed() {
						errs <- fmt.Errorf("session %d: not allowed (status %d: %s)", i, d.Status, d.Body)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		return <-errs
	}

	// Warm the client's connections and the code paths with a throwaway verifier sharing the
	// same Ory client, so the baseline already holds them.
	warm, err := core.New(core.Config{APIClient: api, Cache: cache})
	if err != nil {
		return memResult{}, err
	}
	if err := fill(warm, "warm-", 64); err != nil {
		return memResult{}, err
	}
	warm = nil

	v, err := core.New(core.Config{APIClient: api, Cache: cache})
	if err != nil {
		return memResult{}, err
	}
	before := heapAfterGC()
	if err := fill(v, "session-token-", k); err != nil {
		return memResult{}, err
	}
	after := heapAfterGC()
	if got := v.CachedSessions(); got != k {
		return memResult{}, fmt.Errorf("cache holds %d sessions, want %d", got, k)
	}
	runtime.KeepAlive(v)
	return memResult{Entries: k, Bytes: int64(after) - int64(before), BodySize: len(body)}, nil
}

func heapAfterGC() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
