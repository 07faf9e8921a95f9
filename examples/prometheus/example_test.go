package main

import (
	"log"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	orymfa "github.com/orymfa/orymfa/nethttp"
	orymfaotel "github.com/orymfa/orymfa/otel"
)

var transfer = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("done")) })

// The README's setup in five lines: orymfa's metrics for Prometheus through OpenTelemetry's
// global MeterProvider.
func Example() {
	exporter, err := prometheus.New() // check err
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter)))
	v := orymfa.MustNew(orymfa.Config{SDKURL: os.Getenv("ORY_SDK_URL"), Observer: orymfaotel.NewObserver()})
	http.Handle("GET /metrics", promhttp.Handler())
	http.Handle("GET /transfer", orymfa.RequireAAL2(orymfa.WithVerifier(v))(transfer))

	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", nil))
}
