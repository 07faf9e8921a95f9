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
	addr, appURL := flags(flag.CommandLine)
	flag.Parse()
	app, err := newApp(os.Getenv("ORY_SDK_URL"), *appURL, prometheus.NewRegistry())
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on http://%s (metrics at /metrics)", *addr)
	log.Fatal(http.ListenAndServe(*addr, app))
}

// flags defines -addr and -app-url on fs. Both default to 127.0.0.1, not localhost: Ory's
// session cookie is set for the host name Ory is reached at (127.0.0.1 for a local Kratos such
// as the demo's), and a browser never sends it to localhost, so an app at localhost would send
// a signed-in user to sign in again and again.
func flags(fs *flag.FlagSet) (addr, appURL *string) {
	addr = fs.String("addr", "127.0.0.1:8080", "address to listen on")
	appURL = fs.String("app-url", "http://127.0.0.1:8080", "the app's public origin, for return_to")
	return addr, appURL
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
