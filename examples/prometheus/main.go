package main

import (
	"flag"
	"log"
	"net/http"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	orymfa "github.com/orymfa/orymfa/nethttp"
	orymfaotel "github.com/orymfa/orymfa/otel"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	appURL := flag.String("app-url", "http://localhost:8080", "the app's public origin, for return_to")
	flag.Parse()
	app, err := newApp(os.Getenv("ORY_SDK_URL"), *appURL, prometheus.NewRegistry())
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on http://%s (metrics at /metrics)", *addr)
	log.Fatal(http.ListenAndServe(*addr, app))
}

// newApp builds the app: the orymfa metrics go through an OpenTelemetry MeterProvider to the
// Prometheus exporter, which registers them with reg, served at GET /metrics.
func newApp(sdkURL, appURL string, reg *prometheus.Registry) (http.Handler, error) {
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, err
	}
	meters := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	v, err := orymfa.New(orymfa.Config{
		SDKURL:   sdkURL,
		AppURL:   appURL,
		Observer: orymfaotel.NewObserver(orymfaotel.WithMeterProvider(meters)),
	})
	if err != nil {
		return nil, err
	}

	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := orymfa.SessionFromContext(r.Context())
		_, _ = w.Write([]byte("hello, " + string(s.GetAuthenticatorAssuranceLevel()) + " session\n"))
	})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /account", orymfa.RequireSession(orymfa.WithVerifier(v))(hello))
	mux.Handle("GET /transfer", orymfa.RequireAAL2(orymfa.WithVerifier(v))(hello))
	return mux, nil
}
