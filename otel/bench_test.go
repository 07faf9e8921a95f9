package orymfaotel_test

// The cost of the observer on the cached path through the net/http adapter, against the same
// route without an observer and a bare handler, in one run:
//
//	cd otel && GOWORK=off go test -run '^$' -bench Cached -benchmem -count 5
//
// The request is a browser's: a Kratos-sized session cookie among the app's own cookies, the
// session already in the verifier's cache (no whoami). The SDK providers export nowhere: spans
// go to a batch span processor with a no-op exporter, metrics to a manual reader that is never
// read, so the numbers are the instrumentation's own cost.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/orymfa/orymfa/core"
	orymfa "github.com/orymfa/orymfa/nethttp"
	"github.com/orymfa/orymfa/orymfatest"
	orymfaotel "github.com/orymfa/orymfa/otel"
)

// discard is a ResponseWriter that keeps nothing, as in the adapters' benchmarks.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

var okBody = []byte("ok")

func BenchmarkCached(b *testing.B) {
	srv := orymfatest.NewServer(b)
	token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)
	c := srv.Cookie(token)
	cookie := "_ga=GA1.1.2094823482.1732451234; theme=dark; csrf_token=Zk9tYjN2cUlPd2R0a1pQb0F3d0lUbmFqRkZ5a3hJbWU; " +
		c.Name + "=" + c.Value +
		"; app_session=6f1c2b0e9a7d4c3b8e5f1a2d0c9b8a7e6f5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b; lang=en-GB"

	sdkObserver := func(b *testing.B, sampler sdktrace.Sampler) core.Observer {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sampler), sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		b.Cleanup(func() {
			_ = tp.Shutdown(context.Background())
			_ = mp.Shutdown(context.Background())
		})
		return orymfaotel.NewObserver(orymfaotel.WithTracerProvider(tp), orymfaotel.WithMeterProvider(mp))
	}
	cases := []struct {
		name     string
		guarded  bool
		observer func(b *testing.B) core.Observer
	}{
		{"bare", false, nil},
		{"no-observer", true, nil},
		{"otel-noop-providers", true, func(*testing.B) core.Observer {
			return orymfaotel.NewObserver(orymfaotel.WithTracerProvider(tracenoop.NewTracerProvider()), orymfaotel.WithMeterProvider(metricnoop.NewMeterProvider()))
		}},
		{"otel-metrics-only", true, func(b *testing.B) core.Observer {
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
			b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
			return orymfaotel.NewObserver(orymfaotel.WithTracerProvider(tracenoop.NewTracerProvider()), orymfaotel.WithMeterProvider(mp))
		}},
		{"otel-sdk-parentbased-never", true, func(b *testing.B) core.Observer {
			return sdkObserver(b, sdktrace.ParentBased(sdktrace.NeverSample()))
		}},
		{"otel-sdk-always-on", true, func(b *testing.B) core.Observer {
			return sdkObserver(b, sdktrace.AlwaysSample())
		}},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(okBody) })
			mux := http.NewServeMux()
			if bc.guarded {
				var obs core.Observer
				if bc.observer != nil {
					obs = bc.observer(b)
				}
				v, err := core.New(core.Config{SDKURL: srv.URL, AppURL: "https://app.example", Observer: obs})
				if err != nil {
					b.Fatal(err)
				}
				mux.Handle("GET /r", orymfa.RequireAAL2(orymfa.WithVerifier(v))(ok))
			} else {
				mux.Handle("GET /r", ok)
			}
			req := httptest.NewRequest(http.MethodGet, "/r", nil)
			req.Header.Set("Cookie", cookie)
			req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req) // warms the cache
			if rec.Code != http.StatusOK {
				b.Fatalf("warm-up: status %d: %s", rec.Code, rec.Body)
			}
			srv.ResetCalls()
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				w.code = 0
				mux.ServeHTTP(w, req)
				if w.code != 0 && w.code != http.StatusOK {
					b.Fatalf("status %d", w.code)
				}
			}
			b.StopTimer()
			if n := srv.Calls(); n != 0 {
				b.Errorf("%d whoami calls while measuring, want 0 (cached)", n)
			}
		})
	}
}
