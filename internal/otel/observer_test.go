package oteltests_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ory "github.com/ory/client-go"
	"go.opentelemetry.io/otel"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
	orymfaotel "github.com/orymfa/orymfa/otel"
)

func newVerifier(t testing.TB, cfg core.Config) *core.Verifier {
	t.Helper()
	if cfg.AppURL == "" {
		cfg.AppURL = "https://app.example"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(&logs{})
	}
	v, err := core.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func spansNamed(tel *telemetry, name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range tel.spans.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// TestWhoamiFailures checks how each way Ory can fail shows on the whoami span, the check
// span and the whoami histogram.
func TestWhoamiFailures(t *testing.T) {
	forbidden := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"error":{"code":403,"status":"Forbidden","message":"The requested action was forbidden"}}`))
	}
	cases := []struct {
		name      string
		fault     orymfatest.Fault
		respond   http.HandlerFunc
		wantHTTP  int
		whoami    whoamiWant
		checkType string
	}{
		{name: "Ory answers 500", fault: orymfatest.Status(500), wantHTTP: 502,
			whoami: whoamiWant{status: "500", errorType: "500"}, checkType: "502"},
		{name: "Ory answers 403 without error id", respond: forbidden, wantHTTP: 502,
			whoami: whoamiWant{status: "403", errorType: "403"}, checkType: "502"},
		{name: "malformed session", fault: orymfatest.Malformed, wantHTTP: 502,
			whoami: whoamiWant{status: "200", errorType: "malformed_session"}, checkType: "502"},
		{name: "timeout", fault: orymfatest.Slow(2 * time.Second), wantHTTP: 504,
			whoami: whoamiWant{errorType: "timeout"}, checkType: "504"},
		{name: "Ory down", fault: orymfatest.Down, wantHTTP: 503,
			whoami: whoamiWant{errorType: "unreachable"}, checkType: "503"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := orymfatest.NewServer(t)
			token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL1)
			if tc.respond != nil {
				srv.Respond(tc.respond)
			} else {
				srv.SetFault(tc.fault)
			}
			tel := newTelemetry(t)
			v := newVerifier(t, core.Config{SDKURL: srv.URL, Observer: tel.observer(), Timeout: 100 * time.Millisecond})
			app := serveApp(t, netHTTP, v, nil)
			if got := serve(app, "/session", token); got != tc.wantHTTP {
				t.Fatalf("status %d, want %d", got, tc.wantHTTP)
			}
			whoami, checks := spansNamed(tel, "orymfa.whoami"), spansNamed(tel, "orymfa.check")
			if len(whoami) != 1 || len(checks) != 1 {
				t.Fatalf("%d whoami and %d check spans", len(whoami), len(checks))
			}
			if got, want := attrs(whoami[0].Attributes()), tc.whoami.attrs(); got != want {
				t.Errorf("whoami span\n got %s\nwant %s", got, want)
			}
			if whoami[0].Status().Code.String() != "Error" || whoami[0].Status().Description == "" {
				t.Errorf("whoami span status %+v", whoami[0].Status())
			}
			if whoami[0].Parent().SpanID() != checks[0].SpanContext().SpanID() {
				t.Errorf("whoami span is not the check's child")
			}
			if checks[0].Parent().IsValid() {
				t.Errorf("check span has a parent, but the request had no span")
			}
			want := checkWant{outcome: "unavailable", requirement: "session", errorType: tc.checkType}
			if got := attrs(checks[0].Attributes()); got != want.attrs() {
				t.Errorf("check span\n got %s\nwant %s", got, want.attrs())
			}
			set := ""
			if tc.whoami.errorType != "" {
				set = "error.type=" + tc.whoami.errorType
			}
			if tc.whoami.status != "" {
				if set != "" {
					set += ","
				}
				set += "http.response.status_code=" + tc.whoami.status
			}
			assertMetrics(t, tel.metrics(t), map[string]map[string]int64{
				"orymfa.whoami.duration": {set: 1},
				"orymfa.whoami.active":   {"": 0},
				"orymfa.decisions":       {"orymfa.outcome=unavailable,orymfa.requirement=session": 1},
				"orymfa.cache.lookups":   {"orymfa.cache.result=miss": lookupsPerMiss},
			})
			if tc.name == "timeout" {
				for _, p := range tel.histogram(t) {
					if p.Sum < 0.1 || p.Sum > 2 {
						t.Errorf("timed-out call measured %vs, want about the 0.1s timeout", p.Sum)
					}
				}
			}
		})
	}
}

// TestCacheEvictions checks that a session that expires in the cache is counted as evicted,
// and that the request that found it expired counts as a miss.
func TestCacheEvictions(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	tel := newTelemetry(t)
	v := newVerifier(t, core.Config{
		SDKURL:   srv.URL,
		Observer: tel.observer(),
		Cache:    core.CacheConfig{TTL: 10 * time.Second},
		Now:      func() time.Time { return time.Unix(0, now.Load()) },
	})
	app := serveApp(t, netHTTP, v, nil)
	for _, step := range []struct {
		advance time.Duration
		evicted int64
		hits    int64
		misses  int64
	}{
		{0, 0, 0, lookupsPerMiss},                    // whoami, cached
		{time.Second, 0, 1, lookupsPerMiss},          // from the cache
		{10 * time.Second, 1, 1, 2 * lookupsPerMiss}, // expired: evicted, whoami again
		{time.Second, 1, 2, 2 * lookupsPerMiss},      // from the cache again
	} {
		now.Add(int64(step.advance))
		if got := serve(app, "/session", token); got != 200 {
			t.Fatalf("status %d", got)
		}
		m := tel.metrics(t)
		if got := m["orymfa.cache.evictions"][""]; got != step.evicted {
			t.Errorf("after %v: evictions %d, want %d", step.advance, got, step.evicted)
		}
		if hits, misses := m["orymfa.cache.lookups"]["orymfa.cache.result=hit"], m["orymfa.cache.lookups"]["orymfa.cache.result=miss"]; hits != step.hits || misses != step.misses {
			t.Errorf("after %v: hits %d misses %d, want %d %d", step.advance, hits, misses, step.hits, step.misses)
		}
	}
	if srv.Calls() != 2 {
		t.Errorf("whoami calls %d, want 2", srv.Calls())
	}
}

// TestWhoamiActive reads orymfa.whoami.active while a whoami call is in flight.
func TestWhoamiActive(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	target, _ := url.Parse(srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	tel := newTelemetry(t)
	app := serveApp(t, netHTTP, newVerifier(t, core.Config{SDKURL: front.URL, Observer: tel.observer()}), nil)

	done := make(chan int)
	go func() { done <- serve(app, "/session", token) }()
	<-arrived
	if got := tel.metrics(t)["orymfa.whoami.active"][""]; got != 1 {
		t.Errorf("in flight: whoami.active %d, want 1", got)
	}
	close(release)
	if got := <-done; got != 200 {
		t.Fatalf("status %d", got)
	}
	if got := tel.metrics(t)["orymfa.whoami.active"][""]; got != 0 {
		t.Errorf("after: whoami.active %d, want 0", got)
	}
}

// countingObserver counts the checks started, to know when concurrent requests are in.
type countingObserver struct {
	*orymfaotel.Observer
	started atomic.Int32
}

func (c *countingObserver) StartCheck(ctx context.Context) context.Context {
	c.started.Add(1)
	return c.Observer.StartCheck(ctx)
}

// TestCoalescedWhoami sends concurrent requests with one credential: one whoami span, a child
// of one of their check spans, with the number of requests that shared it.
func TestCoalescedWhoami(t *testing.T) {
	const n = 5
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	target, _ := url.Parse(srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	arrived, release := make(chan struct{}, n), make(chan struct{})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	tel := newTelemetry(t)
	obs := &countingObserver{Observer: tel.observer()}
	app := serveApp(t, netHTTP, newVerifier(t, core.Config{SDKURL: front.URL, Observer: obs}), tel.tp.Tracer("test"))

	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Go(func() { codes[i] = serve(app, "/session", token) })
	}
	<-arrived
	for obs.started.Load() < n {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // from StartCheck to joining the shared call: microseconds
	close(release)
	wg.Wait()
	for _, c := range codes {
		if c != 200 {
			t.Fatalf("statuses %v", codes)
		}
	}
	whoami, checks := spansNamed(tel, "orymfa.whoami"), spansNamed(tel, "orymfa.check")
	if len(whoami) != 1 || len(checks) != n {
		t.Fatalf("%d whoami and %d check spans, want 1 and %d", len(whoami), len(checks), n)
	}
	if got, want := attrs(whoami[0].Attributes()), "http.response.status_code=200,orymfa.whoami.waiters=5"; got != want {
		t.Errorf("whoami span %s, want %s", got, want)
	}
	parents := 0
	for _, c := range checks {
		if c.SpanContext().SpanID() == whoami[0].Parent().SpanID() {
			parents++
		}
	}
	if parents != 1 {
		t.Errorf("the whoami span is the child of %d check spans, want 1", parents)
	}
	if got := tel.metrics(t)["orymfa.decisions"]["orymfa.outcome=allow,orymfa.requirement=session"]; got != n {
		t.Errorf("decisions %d, want %d", got, n)
	}
}

// TestSampling checks that a request whose span is not sampled (ParentBased sampler) records
// no orymfa span, while the metrics still count.
func TestSampling(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	tel := newTelemetry(t)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tel.spans), sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample())))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	obs := orymfaotel.NewObserver(orymfaotel.WithTracerProvider(tp), orymfaotel.WithMeterProvider(tel.mp))
	app := serveApp(t, netHTTP, newVerifier(t, core.Config{SDKURL: srv.URL, Observer: obs}), tp.Tracer("test"))
	for range 2 {
		if got := serve(app, "/session", token); got != 200 {
			t.Fatalf("status %d", got)
		}
	}
	if n := len(tel.spans.Ended()); n != 0 {
		t.Errorf("%d spans recorded, want none", n)
	}
	assertMetrics(t, tel.metrics(t), map[string]map[string]int64{
		"orymfa.decisions":       {"orymfa.outcome=allow,orymfa.requirement=session": 2},
		"orymfa.whoami.duration": {"http.response.status_code=200": 1},
		"orymfa.whoami.active":   {"": 0},
		"orymfa.cache.lookups":   {"orymfa.cache.result=hit": 1, "orymfa.cache.result=miss": lookupsPerMiss},
	})
}

// TestGlobalProviders checks that without options the observer records to the global
// providers.
func TestGlobalProviders(t *testing.T) {
	t.Cleanup(func() {
		otel.SetTracerProvider(tracenoop.NewTracerProvider())
		otel.SetMeterProvider(metricnoop.NewMeterProvider())
	})
	tel := newTelemetry(t)
	otel.SetTracerProvider(tel.tp)
	otel.SetMeterProvider(tel.mp)

	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	obs := orymfaotel.NewObserver(nil, orymfaotel.WithTracerProvider(nil), orymfaotel.WithMeterProvider(nil))
	app := serveApp(t, netHTTP, newVerifier(t, core.Config{SDKURL: srv.URL, Observer: obs}), nil)
	if got := serve(app, "/session", token); got != 200 {
		t.Fatalf("status %d", got)
	}
	if len(spansNamed(tel, "orymfa.check")) != 1 || len(spansNamed(tel, "orymfa.whoami")) != 1 {
		t.Errorf("spans: %d", len(tel.spans.Ended()))
	}
	if got := tel.metrics(t)["orymfa.decisions"]["orymfa.outcome=allow,orymfa.requirement=session"]; got != 1 {
		t.Errorf("decisions %d", got)
	}
}

// TestNoopProviders: with no-op providers (what the globals are until an SDK is installed)
// nothing is recorded and the middleware works as without an observer.
func TestNoopProviders(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	obs := orymfaotel.NewObserver(orymfaotel.WithTracerProvider(tracenoop.NewTracerProvider()), orymfaotel.WithMeterProvider(metricnoop.NewMeterProvider()))
	app := serveApp(t, netHTTP, newVerifier(t, core.Config{SDKURL: srv.URL, Observer: obs}), nil)
	if got := serve(app, "/aal2", token); got != 403 {
		t.Fatalf("status %d", got)
	}
	srv.StepUp(token)
	if got := serve(app, "/aal2", token); got != 200 {
		t.Fatalf("status %d", got)
	}
}

// TestLogsUnchanged: the errors talking to Ory are logged the same with the otel observer as
// without: the same records, the same attributes, the same rate limit.
func TestLogsUnchanged(t *testing.T) {
	srv := orymfatest.NewServer(t)
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	run := func(obs core.Observer) []logRecord {
		l := &logs{}
		v := newVerifier(t, core.Config{SDKURL: srv.URL, Observer: obs, Logger: slog.New(l), LogInterval: 10 * time.Second, Now: clock})
		app := serveApp(t, netHTTP, v, nil)
		start := now.Load()
		defer now.Store(start)
		for i, step := range []struct {
			at    time.Duration
			fault orymfatest.Fault
			want  int
		}{
			{0, orymfatest.Down, 503},
			{time.Second, orymfatest.Down, 503},             // held back: same status within 10 s
			{11 * time.Second, orymfatest.Down, 503},        // logged, with suppressed=1
			{12 * time.Second, orymfatest.Status(500), 502}, // another status: logged
			{13 * time.Second, orymfatest.Status(401), 401}, // an answer, not a failure
		} {
			now.Store(start + int64(step.at))
			srv.SetFault(step.fault)
			if got := serve(app, "/session", "ory_st_UnknownUnknownUnknownUnknow"+string(rune('a'+i))); got != step.want {
				t.Fatalf("step %d: status %d, want %d", i, got, step.want)
			}
		}
		srv.ClearFault()
		return l.all()
	}
	without := run(nil)
	tel := newTelemetry(t)
	with := run(tel.observer())

	normalize := func(rs []logRecord) []map[string]any {
		var out []map[string]any
		for _, r := range rs {
			m := map[string]any{"level": r.level, "msg": r.msg}
			for k, v := range r.attrs {
				switch k {
				case "duration":
					if d, ok := v.(time.Duration); !ok || d <= 0 {
						t.Errorf("duration %v", v)
					}
					m[k] = "positive"
				case "error":
					m[k] = "present"
				default:
					m[k] = v
				}
			}
			out = append(out, m)
		}
		return out
	}
	want := []map[string]any{
		{"level": slog.LevelError, "msg": "orymfa: cannot verify the Ory session", "outcome": "unavailable", "status": int64(503), "ory_status": int64(0), "reason": "whoami failed", "duration": "positive", "error": "present"},
		{"level": slog.LevelError, "msg": "orymfa: cannot verify the Ory session", "outcome": "unavailable", "status": int64(503), "ory_status": int64(0), "reason": "whoami failed", "duration": "positive", "error": "present", "suppressed": int64(1)},
		{"level": slog.LevelError, "msg": "orymfa: cannot verify the Ory session", "outcome": "unavailable", "status": int64(502), "ory_status": int64(500), "reason": "whoami answered 500", "duration": "positive", "error": "present"},
	}
	if got := normalize(without); !reflect.DeepEqual(got, want) {
		t.Errorf("without observer:\n got %v\nwant %v", got, want)
	}
	if got := normalize(with); !reflect.DeepEqual(got, want) {
		t.Errorf("with the otel observer:\n got %v\nwant %v", got, want)
	}
	// What the observer adds: the record's context carries the failed call's span.
	whoami := spansNamed(tel, "orymfa.whoami")
	for i, r := range with {
		if !r.spanID.IsValid() {
			t.Errorf("record %d has no span", i)
			continue
		}
		found := false
		for _, s := range whoami {
			if s.SpanContext().SpanID() == r.spanID && s.Status().Code.String() == "Error" {
				found = true
			}
		}
		if !found {
			t.Errorf("record %d: span %s is not a failed whoami span", i, r.spanID)
		}
	}
	for i, r := range without {
		if r.spanID.IsValid() {
			t.Errorf("record %d without observer has a span", i)
		}
	}
}

// panicTransport stands for a user's RoundTripper that panics.
type panicTransport struct{}

func (panicTransport) RoundTrip(*http.Request) (*http.Response, error) { panic("boom") }

// TestWhoamiPanics: a whoami call that panics (in a user's RoundTripper) fails closed with
// 502; the observer must still see the call end, or whoami.active stays up forever and the
// span is never exported.
func TestWhoamiPanics(t *testing.T) {
	cfg := ory.NewConfiguration()
	cfg.Servers = ory.ServerConfigurations{{URL: "http://127.0.0.1:1"}}
	cfg.HTTPClient = &http.Client{Transport: panicTransport{}}
	tel := newTelemetry(t)
	v := newVerifier(t, core.Config{APIClient: ory.NewAPIClient(cfg), Observer: tel.observer()})
	app := serveApp(t, netHTTP, v, nil)
	if got := serve(app, "/session", unknownToken); got != 502 {
		t.Fatalf("status %d, want 502", got)
	}
	if got := tel.metrics(t)["orymfa.whoami.active"][""]; got != 0 {
		t.Fatalf("a panicking whoami call left whoami.active at %d", got)
	}
	whoami := spansNamed(tel, "orymfa.whoami")
	if len(whoami) != 1 {
		t.Fatalf("whoami span not ended")
	}
	if got, want := attrs(whoami[0].Attributes()), "error.type=_OTHER,orymfa.whoami.waiters=1"; got != want {
		t.Errorf("whoami span %s, want %s", got, want)
	}
}
