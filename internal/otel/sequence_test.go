package oteltests_test

import (
	"log/slog"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/conformance"
	"github.com/orymfa/orymfa/orymfatest"
)

// backend is where whoami is answered: the test kit or a real Kratos.
type backend struct {
	url string
	// user returns the session token of a new aal1 session whose identity has a second
	// factor (whoami answers 403 session_aal2_required), a func that steps it up to aal2 on
	// the same token, and a func that returns what must never show in telemetry (the token,
	// the session id, the identity id and its traits).
	user  func(t *testing.T) (token string, stepUp func(), secrets func() []string)
	calls func() int
	reset func()
}

// kitBackend is the test kit's fake Ory.
func kitBackend(t *testing.T) backend {
	srv := orymfatest.NewServer(t)
	return backend{
		url: srv.URL,
		user: func(t *testing.T) (string, func(), func() []string) {
			id := srv.NewIdentity(orymfatest.WithSecondFactor())
			token := srv.SignIn(id, orymfatest.AAL1)
			return token, func() { srv.StepUp(token) }, func() []string {
				s := srv.Session(token)
				return []string{token, s.Id, s.Identity.Id, id.Traits["email"].(string)}
			}
		},
		calls: srv.Calls,
		reset: srv.ResetCalls,
	}
}

// unknown tokens look like Kratos's but name no session.
const (
	unknownToken  = "ory_st_UnknownUnknownUnknownUnknown1"
	unknownToken2 = "ory_st_UnknownUnknownUnknownUnknown2"
)

// lookupsPerMiss is how many cache lookups the core reports for a request whose session is
// not cached: one by the guard, one again inside the shared whoami call (in case a
// concurrent request has just cached it).
const lookupsPerMiss = 1

// checkWant is what an orymfa.check span must carry.
type checkWant struct {
	outcome, requirement, aal string
	cached, fromContext       bool
	errorType                 string
}

func (w checkWant) attrs() string {
	s := ""
	if w.aal != "" {
		s += "orymfa.aal=" + w.aal + ","
	}
	s += "orymfa.cached=" + bstr(w.cached) + ",orymfa.from_context=" + bstr(w.fromContext) +
		",orymfa.outcome=" + w.outcome + ",orymfa.requirement=" + w.requirement
	if w.errorType != "" {
		s = "error.type=" + w.errorType + "," + s
	}
	return s
}

// whoamiWant is what an orymfa.whoami span must carry.
type whoamiWant struct {
	status    string // http.response.status_code, "" when Ory did not answer
	errorType string
}

func (w whoamiWant) attrs() string {
	s := ""
	if w.errorType != "" {
		s += "error.type=" + w.errorType + ","
	}
	if w.status != "" {
		s += "http.response.status_code=" + w.status + ","
	}
	return s + "orymfa.whoami.waiters=1"
}

func bstr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// testSequence sends the known sequence of requests (login denial, step-up, grant from Ory,
// grant from cache, a second guard on the same request, Ory down) through the adapter's app
// with an observer, each request inside a server span, and checks the spans after each
// request and the metrics, the logs and Ory's call count at the end.
func testSequence(t *testing.T, be backend, ad conformance.Adapter) {
	tel := newTelemetry(t)
	target, err := url.Parse(be.url)
	if err != nil {
		t.Fatal(err)
	}
	// Ory as the app reaches it, through a proxy that the test can take down.
	front := httptest.NewServer(httputil.NewSingleHostReverseProxy(target))
	defer front.Close()
	logs := &logs{}
	v, err := core.New(core.Config{
		SDKURL:   front.URL,
		AppURL:   "https://app.example",
		Observer: tel.observer(),
		Logger:   slog.New(logs),
	})
	if err != nil {
		t.Fatal(err)
	}
	app := serveApp(t, ad, v, tel.tp.Tracer("test"))
	token, stepUp, secrets := be.user(t)
	be.reset()

	type step struct {
		name       string
		before     func()
		path       string
		token      string
		wantStatus int
		checks     []checkWant
		whoami     []whoamiWant
	}
	steps := []step{
		{name: "login denial: no credential", path: "/session", wantStatus: 401,
			checks: []checkWant{{outcome: "login", requirement: "session"}}},
		{name: "login denial: unknown token", path: "/aal2", token: unknownToken, wantStatus: 401,
			checks: []checkWant{{outcome: "login", requirement: "aal2"}},
			whoami: []whoamiWant{{status: "401"}}},
		{name: "step-up: aal1 session", path: "/aal2", token: token, wantStatus: 403,
			checks: []checkWant{{outcome: "step-up", requirement: "aal2"}},
			whoami: []whoamiWant{{status: "403"}}},
		{name: "grant from Ory", before: stepUp, path: "/aal2", token: token, wantStatus: 200,
			checks: []checkWant{{outcome: "allow", requirement: "aal2", aal: "aal2"}},
			whoami: []whoamiWant{{status: "200"}}},
		{name: "grant from cache", path: "/session", token: token, wantStatus: 200,
			checks: []checkWant{{outcome: "allow", requirement: "session", aal: "aal2", cached: true}}},
		{name: "second guard: session from context", path: "/group/aal2", token: token, wantStatus: 200,
			checks: []checkWant{
				{outcome: "allow", requirement: "session", aal: "aal2", cached: true},
				{outcome: "allow", requirement: "aal2", aal: "aal2", cached: true, fromContext: true},
			}},
		{name: "Ory down", before: front.Close, path: "/aal2", token: unknownToken2, wantStatus: 503,
			checks: []checkWant{{outcome: "unavailable", requirement: "aal2", errorType: "503"}},
			whoami: []whoamiWant{{errorType: "unreachable"}}},
	}

	var whoamiSpan trace.SpanContext // of the failed call, for the log record
	seen := 0
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		if status, body := get(app, st.path, st.token); status != st.wantStatus {
			t.Fatalf("%s: status %d, want %d: %s", st.name, status, st.wantStatus, body)
		}

		ended := tel.spans.Ended()
		spans := ended[seen:]
		seen = len(ended)
		var server sdktrace.ReadOnlySpan
		var checks, whoamis []sdktrace.ReadOnlySpan
		for _, s := range spans {
			switch s.Name() {
			case "GET " + st.path:
				server = s
			case "orymfa.check":
				checks = append(checks, s)
			case "orymfa.whoami":
				whoamis = append(whoamis, s)
			default:
				t.Errorf("%s: unexpected span %q", st.name, s.Name())
			}
		}
		if server == nil {
			t.Fatalf("%s: no server span among %d spans", st.name, len(spans))
		}
		if len(checks) != len(st.checks) || len(whoamis) != len(st.whoami) {
			t.Fatalf("%s: %d check and %d whoami spans, want %d and %d", st.name, len(checks), len(whoamis), len(st.checks), len(st.whoami))
		}
		for i, c := range checks {
			if c.Parent().SpanID() != server.SpanContext().SpanID() || c.SpanContext().TraceID() != server.SpanContext().TraceID() {
				t.Errorf("%s: check span %d is not a child of the request's span", st.name, i)
			}
			if c.SpanKind() != trace.SpanKindInternal {
				t.Errorf("%s: check span kind %v", st.name, c.SpanKind())
			}
			if got, want := attrs(c.Attributes()), st.checks[i].attrs(); got != want {
				t.Errorf("%s: check span %d attributes\n got %s\nwant %s", st.name, i, got, want)
			}
			if got := c.Status().Code.String(); (st.checks[i].outcome == "unavailable") != (got == "Error") {
				t.Errorf("%s: check span status %s", st.name, got)
			}
			if c.InstrumentationScope().Name != "github.com/orymfa/orymfa/otel" {
				t.Errorf("%s: scope %q", st.name, c.InstrumentationScope().Name)
			}
		}
		for i, w := range whoamis {
			// The whoami call runs on a goroutine of its own with a context detached from the
			// request's cancellation; its span is still the check's child.
			if w.Parent().SpanID() != checks[0].SpanContext().SpanID() || w.SpanContext().TraceID() != server.SpanContext().TraceID() {
				t.Errorf("%s: whoami span is not a child of the check span", st.name)
			}
			if got, want := attrs(w.Attributes()), st.whoami[i].attrs(); got != want {
				t.Errorf("%s: whoami span attributes\n got %s\nwant %s", st.name, got, want)
			}
			if got := w.Status().Code.String(); (st.whoami[i].errorType != "") != (got == "Error") {
				t.Errorf("%s: whoami span status %s", st.name, got)
			}
			if !w.EndTime().Before(checks[0].EndTime()) && !w.EndTime().Equal(checks[0].EndTime()) {
				t.Errorf("%s: whoami span ends after its check", st.name)
			}
			whoamiSpan = w.SpanContext()
		}
	}

	if got := be.calls(); got != 3 {
		t.Errorf("Ory got %d whoami calls, want 3 (unknown token, step-up, grant)", got)
	}

	m := tel.metrics(t)
	want := map[string]map[string]int64{
		"orymfa.decisions": {
			"orymfa.outcome=login,orymfa.requirement=session":    1,
			"orymfa.outcome=login,orymfa.requirement=aal2":       1,
			"orymfa.outcome=step-up,orymfa.requirement=aal2":     1,
			"orymfa.outcome=allow,orymfa.requirement=aal2":       2,
			"orymfa.outcome=allow,orymfa.requirement=session":    2,
			"orymfa.outcome=unavailable,orymfa.requirement=aal2": 1,
		},
		"orymfa.whoami.duration": {
			"http.response.status_code=401": 1,
			"http.response.status_code=403": 1,
			"http.response.status_code=200": 1,
			"error.type=unreachable":        1,
		},
		"orymfa.whoami.active": {"": 0},
		"orymfa.cache.lookups": {
			"orymfa.cache.result=hit":  2,
			"orymfa.cache.result=miss": 4 * lookupsPerMiss,
		},
	}
	assertMetrics(t, m, want)
	noSecrets(t, tel, append(secrets(), unknownToken, unknownToken2)...)

	// The one failure is logged as before, and the record's context carries the whoami span.
	records := logs.all()
	if len(records) != 1 {
		t.Fatalf("%d log records, want 1: %+v", len(records), records)
	}
	r := records[0]
	if r.level != slog.LevelError || r.attrs["outcome"] != "unavailable" || r.attrs["status"] != int64(503) || r.attrs["reason"] != "whoami failed" {
		t.Errorf("log record %+v", r)
	}
	if d, ok := r.attrs["duration"].(time.Duration); !ok || d <= 0 {
		t.Errorf("log duration %v", r.attrs["duration"])
	}
	if r.traceID != whoamiSpan.TraceID() || r.spanID != whoamiSpan.SpanID() {
		t.Errorf("log record's span %s/%s, want the whoami span %s/%s", r.traceID, r.spanID, whoamiSpan.TraceID(), whoamiSpan.SpanID())
	}
}

// assertMetrics compares collected metrics with want: every listed data point, and no other
// data point of a listed instrument. Instruments not in want must have no data point with a
// value.
func assertMetrics(t *testing.T, got, want map[string]map[string]int64) {
	t.Helper()
	for name, points := range want {
		for set, v := range points {
			gv, ok := got[name][set]
			if !ok || gv != v {
				t.Errorf("%s{%s} = %d (present %v), want %d", name, set, gv, ok, v)
			}
		}
		for set, v := range got[name] {
			if _, ok := points[set]; !ok {
				t.Errorf("%s{%s} = %d, not expected", name, set, v)
			}
		}
	}
	for name, points := range got {
		if _, ok := want[name]; ok {
			continue
		}
		for set, v := range points {
			if v != 0 {
				t.Errorf("%s{%s} = %d, not expected", name, set, v)
			}
		}
	}
}

// TestSequenceKit runs the sequence against the test kit's fake Ory, through every adapter.
func TestSequenceKit(t *testing.T) {
	for _, ad := range conformance.Adapters {
		t.Run(ad.Name, func(t *testing.T) { testSequence(t, kitBackend(t), ad) })
	}
}
