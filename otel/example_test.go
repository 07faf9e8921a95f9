package orymfaotel_test

import (
	"net/http"
	"os"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	orymfa "github.com/orymfa/orymfa/nethttp"
	orymfaotel "github.com/orymfa/orymfa/otel"
)

var transfer = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("done")) })

// With the global providers your OpenTelemetry setup installed (otel.SetTracerProvider,
// otel.SetMeterProvider), one option on the verifier: every check and whoami call is traced
// and counted. examples/prometheus in the repository serves the metrics to Prometheus.
func ExampleNewObserver() {
	v := orymfa.MustNew(orymfa.Config{SDKURL: os.Getenv("ORY_SDK_URL"), Observer: orymfaotel.NewObserver()})
	http.Handle("GET /transfer", orymfa.RequireAAL2(orymfa.WithVerifier(v))(transfer))
}

// Providers of your own instead of the global ones. Wrap the app in your HTTP server
// instrumentation (otelhttp.NewHandler, otelgin.Middleware, …) so that the orymfa.check spans
// are children of the request's span.
func ExampleWithTracerProvider() {
	tp := sdktrace.NewTracerProvider( /* sdktrace.WithBatcher(yourExporter) */ )
	mp := sdkmetric.NewMeterProvider( /* sdkmetric.WithReader(yourReader) */ )
	v := orymfa.MustNew(orymfa.Config{
		SDKURL:   os.Getenv("ORY_SDK_URL"),
		Observer: orymfaotel.NewObserver(orymfaotel.WithTracerProvider(tp), orymfaotel.WithMeterProvider(mp)),
	})
	http.Handle("GET /transfer", orymfa.RequireAAL2(orymfa.WithVerifier(v))(transfer))
}
