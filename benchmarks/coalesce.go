package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/kratostest"
)

// coldResult is the outcome of n concurrent first requests of one session.
type coldResult struct {
	N          int
	OK         int   // requests answered 200
	Calls      int64 // whoami calls seen by the verifier's Ory client
	ProxyCalls int64 // whoami calls seen by the harness's counting proxy in front of Kratos
	Elapsed    time.Duration
}

// coldStart starts adapter's app with a fresh verifier (empty cache) that reaches Kratos
// through the harness's counting proxy, opens n keep-alive connections to it, then releases n
// requests with the same session (cookie or token) at once and counts the whoami calls they
// caused.
func coldStart(ctx context.Context, p *kratostest.Project, adapter string, cred credential, n int) (coldResult, error) {
	api, counter := oryClient(p.ProxyURL, n)
	v, err := core.New(core.Config{APIClient: api, AppURL: appURL, Logger: quietLogger})
	if err != nil {
		return coldResult{}, err
	}
	a, err := startApp(adapter, v)
	if err != nil {
		return coldResult{}, err
	}
	defer a.close()
	client := newClient(n)
	defer client.CloseIdleConnections()

	// Open the connections first (unguarded route), so the n guarded requests are not
	// serialised behind n TCP handshakes and really reach the middleware together.
	if _, err := burst(ctx, client, a.URL+"/open", nil, n); err != nil {
		return coldResult{}, err
	}
	p.ResetWhoamiCalls()
	t0 := time.Now()
	ok, err := burst(ctx, client, a.URL+"/r", &cred, n)
	if err != nil {
		return coldResult{}, err
	}
	return coldResult{N: n, OK: ok, Calls: counter.calls.Load(), ProxyCalls: p.WhoamiCalls(), Elapsed: time.Since(t0)}, nil
}

// burst sends n GETs (with cred, unless nil) that all wait on one barrier and start
// together; it returns how many were answered 200.
func burst(ctx context.Context, client *http.Client, target string, cred *credential, n int) (int, error) {
	if err := checkLoopback(target); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var (
		ready, done sync.WaitGroup
		mu          sync.Mutex
		ok          int
		firstErr    error
	)
	start := make(chan struct{})
	ready.Add(n)
	for range n {
		done.Go(func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
			if cred != nil && err == nil {
				cred.set(req.Header)
			}
			ready.Done()
			<-start
			if err == nil {
				var resp *http.Response
				if resp, err = client.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("%s: status %d", target, resp.StatusCode)
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else if firstErr == nil {
				firstErr = err
			}
		})
	}
	ready.Wait()
	close(start)
	done.Wait()
	if ok == 0 {
		return 0, firstErr
	}
	return ok, nil
}
