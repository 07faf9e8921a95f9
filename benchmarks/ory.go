package main

import (
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	ory "github.com/ory/client-go"
)

// countingTransport counts the whoami requests the verifier's Ory client sends.
type countingTransport struct {
	base  http.RoundTripper
	calls atomic.Int64
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/sessions/whoami") {
		t.calls.Add(1)
	}
	return t.base.RoundTrip(r)
}

// oryClient builds an Ory API client for sdkURL whose transport keeps enough idle connections
// for the load (http.DefaultTransport keeps 2 per host, which would make the no-cache cell
// open and close a TCP connection to Kratos for most requests and understate its throughput).
func oryClient(sdkURL string, idle int) (*ory.APIClient, *countingTransport) {
	tr := &countingTransport{base: &http.Transport{
		MaxIdleConns:        idle,
		MaxIdleConnsPerHost: idle,
		IdleConnTimeout:     30 * time.Second,
	}}
	cfg := ory.NewConfiguration()
	cfg.Servers = ory.ServerConfigurations{{URL: strings.TrimRight(sdkURL, "/")}}
	cfg.UserAgent = "orymfa-benchmarks"
	cfg.HTTPClient = &http.Client{
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return ory.NewAPIClient(cfg), tr
}
