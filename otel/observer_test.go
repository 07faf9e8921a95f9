package orymfaotel_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	orymfa "github.com/orymfa/orymfa/nethttp"
	"github.com/orymfa/orymfa/orymfatest"
	orymfaotel "github.com/orymfa/orymfa/otel"
)

// A known sequence through the net/http adapter against the test kit: the spans, their
// parent, their attributes, the metric values. (The same against a real Kratos, through gin
// too, and the logs, are in the repository's test module, internal/otel.)
func TestObserver(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	srv := orymfatest.NewServer(t)
	v := orymfa.MustNew(orymfa.Config{SDKURL: srv.URL, AppURL: "https://app.example",
		Observer: orymfaotel.NewObserver(orymfaotel.WithTracerProvider(tp), orymfaotel.WithMeterProvider(mp))})
	tracer := tp.Tracer("test")
	app := orymfa.RequireAAL2(orymfa.WithVerifier(v))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	serve := func(token string) int {
		ctx, span := tracer.Start(context.Background(), "request") // the server's span
		defer span.End()
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/transfer", nil)
		if token != "" {
			req.Header.Set("X-Session-Token", token)
		}
		rec := httptest.NewRecorder()
		app.ServeHTTP(rec, req)
		return rec.Code
	}

	stepUp := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL1)
	ok := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	for _, step := range []struct {
		token string
		want  int
	}{{"", 401}, {stepUp, 403}, {ok, 200}, {ok, 200}} {
		if got := serve(step.token); got != step.want {
			t.Fatalf("status %d, want %d", got, step.want)
		}
	}
	srv.SetFault(orymfatest.Down)
	if got := serve("ory_st_unknownunknownunknownunknown1"); got != 503 {
		t.Fatalf("Ory down: %d", got)
	}

	var checks, whoamis []sdktrace.ReadOnlySpan
	parents := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans.Ended() {
		parents[s.SpanContext().SpanID().String()] = s
		switch s.Name() {
		case "orymfa.check":
			checks = append(checks, s)
		case "orymfa.whoami":
			whoamis = append(whoamis, s)
		}
	}
	wantOutcomes := []string{"login", "step-up", "allow", "allow", "unavailable"}
	if len(checks) != len(wantOutcomes) || len(whoamis) != 3 {
		t.Fatalf("%d check spans and %d whoami spans, want %d and 3 (no credential and the cached grant ask nobody)", len(checks), len(whoamis), len(wantOutcomes))
	}
	for i, s := range checks {
		got := attribute.NewSet(s.Attributes()...)
		if v, _ := got.Value("orymfa.outcome"); v.AsString() != wantOutcomes[i] {
			t.Fatalf("check %d: outcome %q, want %q", i, v.AsString(), wantOutcomes[i])
		}
		if p := parents[s.Parent().SpanID().String()]; p == nil || p.Name() != "request" {
			t.Fatalf("check %d is not a child of the request's span", i)
		}
		for _, kv := range s.Attributes() {
			if v := kv.Value.Emit(); v == ok || v == stepUp {
				t.Fatalf("a span carries the credential: %v", kv)
			}
		}
	}
	cachedSet := attribute.NewSet(checks[3].Attributes()...)
	if cached, _ := cachedSet.Value("orymfa.cached"); !cached.AsBool() {
		t.Fatal("the second grant is not marked cached")
	}
	for _, s := range whoamis {
		if p := parents[s.Parent().SpanID().String()]; p == nil || p.Name() != "orymfa.check" {
			t.Fatalf("whoami span %v is not a child of a check span", s.Attributes())
		}
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if s, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range s.DataPoints {
					key := m.Name
					if v, ok := dp.Attributes.Value("orymfa.outcome"); ok {
						key += "/" + v.AsString()
					}
					if v, ok := dp.Attributes.Value("orymfa.cache.result"); ok {
						key += "/" + v.AsString()
					}
					sums[key] += dp.Value
				}
			}
		}
	}
	for name, want := range map[string]int64{
		"orymfa.decisions/login": 1, "orymfa.decisions/step-up": 1, "orymfa.decisions/allow": 2, "orymfa.decisions/unavailable": 1,
		"orymfa.cache.lookups/hit": 1, "orymfa.cache.lookups/miss": 3, "orymfa.whoami.active": 0,
	} {
		if sums[name] != want {
			t.Fatalf("%s = %d, want %d (all: %v)", name, sums[name], want, sums)
		}
	}
}
