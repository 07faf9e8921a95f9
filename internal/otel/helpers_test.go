package oteltests_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ory "github.com/ory/client-go"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/conformance"
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

// serveApp serves the tests' app on framework a, from the registry of frameworks
// (internal/conformance.Adapters): GET /session (RequireSession), GET /aal2 (RequireAAL2) and
// GET /group/aal2 (RequireSession on the group, then RequireAAL2), each answering 200 "ok" when
// its handler finds the session. With a tracer, every request runs inside a server span that
// the app's first middleware starts, as the server instrumentation (otelhttp, otelgin,
// otelfiber) would. It returns the app's base URL.
func serveApp(t testing.TB, a conformance.Adapter, v *core.Verifier, tracer trace.Tracer) string {
	t.Helper()
	app := conformance.App{
		Verifier: v,
		Other:    v,
		MaxAge:   time.Hour,
		Handle: func(s, _ *ory.Session) (int, []byte) {
			if s == nil {
				return http.StatusInternalServerError, []byte("no session")
			}
			return http.StatusOK, []byte("ok")
		},
		Deny: func(d *core.Decision) (int, []byte) { return d.Status, d.Body },
	}
	if tracer != nil {
		app.Begin = func(ctx context.Context, r conformance.Incoming) (context.Context, func()) {
			ctx, span := tracer.Start(ctx, r.Method+" "+r.Path, trace.WithSpanKind(trace.SpanKindServer))
			return ctx, func() { span.End() }
		}
	}
	return a.Serve(t, app)
}

// netHTTP is the net/http adapter of the registry, for the tests that need one framework.
var netHTTP, _ = conformance.AdapterNamed("nethttp")

var client = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       time.Minute,
}

// serve sends GET path with a session token (none when "") to the app at base and returns the
// status, or 0 when no answer came.
func serve(base, path, token string) int {
	status, _ := get(base, path, token)
	return status
}

// get is serve that also returns the body.
func get(base, path, token string) (int, string) {
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		return 0, err.Error()
	}
	if token != "" {
		req.Header.Set("X-Session-Token", token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
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
