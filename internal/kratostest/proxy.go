package kratostest

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
)

// whoamiProxy forwards everything to Kratos's public API and counts whoami calls, so tests can
// measure caching and inspect which cookies the middleware sent to Ory.
type whoamiProxy struct {
	rp         *httputil.ReverseProxy
	calls      atomic.Int64
	mu         sync.Mutex
	lastCookie string
}

func newWhoamiProxy(target string) (*whoamiProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("kratostest: proxy target: %w", err)
	}
	return &whoamiProxy{rp: &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(u) },
		Transport: ownTransport(),
	}}, nil
}

func (p *whoamiProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/sessions/whoami" {
		p.calls.Add(1)
		p.mu.Lock()
		p.lastCookie = r.Header.Get("Cookie")
		p.mu.Unlock()
	}
	p.rp.ServeHTTP(w, r)
}

// WhoamiCalls returns how many requests to /sessions/whoami went through [Project.ProxyURL]
// since the start or the last [Project.ResetWhoamiCalls].
func (p *Project) WhoamiCalls() int64 { return p.proxy.calls.Load() }

// ResetWhoamiCalls sets the whoami count to zero and forgets the last Cookie header.
func (p *Project) ResetWhoamiCalls() {
	p.proxy.calls.Store(0)
	p.proxy.mu.Lock()
	p.proxy.lastCookie = ""
	p.proxy.mu.Unlock()
}

// LastWhoamiCookie returns the Cookie header of the last whoami request through the proxy ("" if
// it had none), so a test can prove that only the Ory session cookie was forwarded.
func (p *Project) LastWhoamiCookie() string {
	p.proxy.mu.Lock()
	defer p.proxy.mu.Unlock()
	return p.proxy.lastCookie
}
