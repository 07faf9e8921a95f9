package oteltests_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/orymfa/orymfa/core"
	orymfagin "github.com/orymfa/orymfa/gin"
	orymfa "github.com/orymfa/orymfa/nethttp"
	orymfaotel "github.com/orymfa/orymfa/otel"
)

// telemetry is an SDK TracerProvider recording every span and an SDK MeterProvider read by
// hand, both in memory.
type telemetry struct {
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newTelemetry(t testing.TB) *telemetry {
	t.Helper()
	tel := &telemetry{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tel.spans))
	tel.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	t.Cleanup(func() {
		_ = tel.tp.Shutdown(context.Background())
		_ = tel.mp.Shutdown(context.Background())
	})
	return tel
}

// observer returns an orymfa observer recording to tel.
func (tel *telemetry) observer() *orymfaotel.Observer {
	return orymfaotel.NewObserver(orymfaotel.WithTracerProvider(tel.tp), orymfaotel.WithMeterProvider(tel.mp))
}

// metrics collects the orymfa instruments: name → attribute set (encoded) → value (the sum
// for counters, the count for histograms).
func (tel *telemetry) metrics(t testing.TB) map[string]map[string]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != orymfaotel.ScopeName {
			t.Errorf("metrics of scope %q", sm.Scope.Name)
			continue
		}
		for _, m := range sm.Metrics {
			points := map[string]int64{}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					points[enc(p.Attributes)] = p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					points[enc(p.Attributes)] = int64(p.Count)
					if p.Sum < 0 || (p.Count > 0 && p.Sum == 0) {
						t.Errorf("%s{%s}: sum %v for %d calls", m.Name, enc(p.Attributes), p.Sum, p.Count)
					}
				}
			default:
				t.Errorf("%s: unexpected data %T", m.Name, m.Data)
			}
			out[m.Name] = points
		}
	}
	return out
}

// histogram returns the data points of the whoami duration histogram.
func (tel *telemetry) histogram(t testing.TB) []metricdata.HistogramDataPoint[float64] {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == "orymfa.whoami.duration" {
				return m.Data.(metricdata.Histogram[float64]).DataPoints
			}
		}
	}
	return nil
}

func enc(s attribute.Set) string { return s.Encoded(attribute.DefaultEncoder()) }

// attrs renders a span's attributes as "k=v,k=v", sorted.
func attrs(kvs []attribute.KeyValue) string { return enc(attribute.NewSet(kvs...)) }

// noSecrets fails if any span (name, attributes, events, status) or metric attribute of tel
// contains one of secrets.
func noSecrets(t testing.TB, tel *telemetry, secrets ...string) {
	t.Helper()
	var texts []string
	for _, s := range tel.spans.Ended() {
		texts = append(texts, s.Name(), attrs(s.Attributes()), s.Status().Description)
		for _, e := range s.Events() {
			texts = append(texts, e.Name, attrs(e.Attributes))
		}
	}
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	texts = append(texts, fmt.Sprintf("%+v", rm.ScopeMetrics))
	for _, secret := range secrets {
		if secret == "" {
			continue
		}
		for _, text := range texts {
			if strings.Contains(text, secret) {
				t.Errorf("telemetry contains a secret %q: %s", secret, text)
			}
		}
	}
}

// serverSpan stands for the HTTP server instrumentation of an app (otelhttp, otelgin): it
// starts the request's span and puts it in the request's context.
func serverSpan(tracer trace.Tracer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tracer.Start(r.Context(), r.Method+" "+r.URL.Path, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// adapter builds the test app with one framework: GET /account (RequireSession),
// GET /transfer (RequireAAL2) and GET /stacked (RequireSession, then RequireAAL2), each
// answering 200 "ok" with the session, behind serverSpan when tracer is not nil.
type adapter struct {
	name string
	app  func(v *core.Verifier, tracer trace.Tracer) http.Handler
}

var adapters = []adapter{
	{"nethttp", func(v *core.Verifier, tracer trace.Tracer) http.Handler {
		ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, found := orymfa.SessionFromContext(r.Context()); !found {
				http.Error(w, "no session", http.StatusInternalServerError)
				return
			}
			_, _ = w.Write([]byte("ok"))
		})
		session := orymfa.RequireSession(orymfa.WithVerifier(v))
		aal2 := orymfa.RequireAAL2(orymfa.WithVerifier(v))
		mux := http.NewServeMux()
		mux.Handle("GET /account", session(ok))
		mux.Handle("GET /transfer", aal2(ok))
		mux.Handle("GET /stacked", session(aal2(ok)))
		if tracer == nil {
			return mux
		}
		return serverSpan(tracer, mux)
	}},
	{"gin", func(v *core.Verifier, tracer trace.Tracer) http.Handler {
		gin.SetMode(gin.TestMode)
		r := gin.New()
		if tracer != nil {
			r.Use(func(c *gin.Context) {
				ctx, span := tracer.Start(c.Request.Context(), c.Request.Method+" "+c.FullPath(), trace.WithSpanKind(trace.SpanKindServer))
				defer span.End()
				c.Request = c.Request.WithContext(ctx)
				c.Next()
			})
		}
		ok := func(c *gin.Context) {
			if _, found := orymfagin.Session(c); !found {
				c.String(http.StatusInternalServerError, "no session")
				return
			}
			c.String(http.StatusOK, "ok")
		}
		session := orymfagin.RequireSession(orymfagin.WithVerifier(v))
		aal2 := orymfagin.RequireAAL2(orymfagin.WithVerifier(v))
		r.GET("/account", session, ok)
		r.GET("/transfer", aal2, ok)
		r.GET("/stacked", session, aal2, ok)
		return r
	}},
}

// logRecord is a captured slog record, flattened.
type logRecord struct {
	level   slog.Level
	msg     string
	attrs   map[string]any
	traceID trace.TraceID
	spanID  trace.SpanID
}

// logs is a slog.Handler that keeps every record, with the span in its context.
type logs struct {
	mu      sync.Mutex
	records []logRecord
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logs) WithGroup(string) slog.Handler            { return l }
func (l *logs) Handle(ctx context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: map[string]any{}}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.Resolve().Any()
		return true
	})
	sc := trace.SpanContextFromContext(ctx)
	rec.traceID, rec.spanID = sc.TraceID(), sc.SpanID()
	l.mu.Lock()
	l.records = append(l.records, rec)
	l.mu.Unlock()
	return nil
}

func (l *logs) all() []logRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.records)
}
