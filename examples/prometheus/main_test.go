package main

import (
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/orymfa/orymfa/orymfatest"
)

// TestScrape sends a few requests through the app (with the test kit as Ory), scrapes
// /metrics as Prometheus would, and finds every orymfa metric with the expected values.
func TestScrape(t *testing.T) {
	ory := orymfatest.NewServer(t)
	handler, err := newApp(ory.URL, "http://app.example", prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	app := httptest.NewServer(handler)
	defer app.Close()
	get := func(path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, app.URL+path, nil)
		if token != "" {
			req.Header.Set("X-Session-Token", token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}

	token := ory.SignIn(ory.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	if got, _ := get("/account", ""); got != 401 {
		t.Fatalf("no credential: %d", got)
	}
	if got, _ := get("/transfer", token); got != 403 {
		t.Fatalf("aal1: %d", got)
	}
	ory.StepUp(token)
	for range 2 { // from Ory, then from the cache
		if got, _ := get("/transfer", token); got != 200 {
			t.Fatalf("aal2: %d", got)
		}
	}
	ory.SetFault(orymfatest.Down)
	if got, _ := get("/transfer", "ory_st_UnknownUnknownUnknownUnknown1"); got != 503 {
		t.Fatalf("Ory down: %d", got)
	}

	code, body := get("/metrics", "")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, w := range []struct {
		name   string
		labels []string
		value  float64
	}{
		{"orymfa_decisions_total", []string{`orymfa_outcome="login"`, `orymfa_requirement="session"`}, 1},
		{"orymfa_decisions_total", []string{`orymfa_outcome="step-up"`, `orymfa_requirement="aal2"`}, 1},
		{"orymfa_decisions_total", []string{`orymfa_outcome="allow"`, `orymfa_requirement="aal2"`}, 2},
		{"orymfa_decisions_total", []string{`orymfa_outcome="unavailable"`, `orymfa_requirement="aal2"`}, 1},
		{"orymfa_whoami_duration_seconds_count", []string{`http_response_status_code="403"`}, 1},
		{"orymfa_whoami_duration_seconds_count", []string{`http_response_status_code="200"`}, 1},
		{"orymfa_whoami_duration_seconds_count", []string{`error_type="unreachable"`}, 1},
		{"orymfa_whoami_duration_seconds_bucket", []string{`http_response_status_code="200"`, `le="+Inf"`}, 1},
		{"orymfa_whoami_active", nil, 0},
		{"orymfa_cache_lookups_total", []string{`orymfa_cache_result="hit"`}, 1},
		{"orymfa_cache_lookups_total", []string{`orymfa_cache_result="miss"`}, 3}, // 3 requests missed
	} {
		got, ok := sample(body, w.name, w.labels...)
		if !ok || got != w.value {
			t.Errorf("%s%v = %v (found %v), want %v", w.name, w.labels, got, ok, w.value)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}

// sample returns the value of the one series of metric name that has all labels, from
// Prometheus's text format.
func sample(body, name string, labels ...string) (float64, bool) {
	var found []float64
	for line := range strings.Lines(body) {
		line = strings.TrimSpace(line)
		series, value, ok := strings.Cut(line, "} ")
		if !ok || !strings.HasPrefix(series, name+"{") {
			continue
		}
		all := true
		for _, l := range labels {
			all = all && strings.Contains(series, l)
		}
		if v, err := strconv.ParseFloat(value, 64); all && err == nil {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		return 0, false
	}
	return found[0], true
}

// TestDefaultsToLoopbackIP: run without flags, the app listens on 127.0.0.1 and sends browsers
// back (return_to) to 127.0.0.1, the host Ory's cookie is set for when Ory runs on this
// machine (as the demo's Kratos does), never to localhost, which that cookie never reaches.
func TestDefaultsToLoopbackIP(t *testing.T) {
	fs := flag.NewFlagSet("prometheus", flag.ContinueOnError)
	addr, appURL := flags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if host, _, err := net.SplitHostPort(*addr); err != nil || host != "127.0.0.1" {
		t.Errorf("-addr defaults to %q, want 127.0.0.1:PORT", *addr)
	}
	ory := orymfatest.NewServer(t)
	handler, err := newApp(ory.URL, *appURL, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "http://"+*addr+"/transfer", nil)
	req.Header.Set("Accept", "text/html")
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil || rec.Code != http.StatusSeeOther {
		t.Fatalf("browser GET /transfer: %d to %q, want 303 to the login", rec.Code, rec.Header().Get("Location"))
	}
	if got, want := loc.Query().Get("return_to"), "http://"+*addr+"/transfer"; got != want {
		t.Errorf("return_to = %q, want %q", got, want)
	}
}
