package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	gingonic "github.com/gin-gonic/gin"
	gochi "github.com/go-chi/chi/v5"
	gofiber "github.com/gofiber/fiber/v2"
	gofiber3 "github.com/gofiber/fiber/v3"
	labecho "github.com/labstack/echo/v4"
	labecho5 "github.com/labstack/echo/v5"
	ory "github.com/ory/client-go"

	orymchi "github.com/orymfa/orymfa/chi"
	"github.com/orymfa/orymfa/core"
	orymecho "github.com/orymfa/orymfa/echo"
	orymecho5 "github.com/orymfa/orymfa/echo/v5"
	orymfiber "github.com/orymfa/orymfa/fiber"
	orymfiber3 "github.com/orymfa/orymfa/fiber/v3"
	orymgin "github.com/orymfa/orymfa/gin"
	orymnethttp "github.com/orymfa/orymfa/nethttp"
)

// allAdapters is every adapter the command knows, in table order.
var allAdapters = []string{"nethttp", "chi", "gin", "echo", "echov5", "fiber", "fiberv3"}

// clientHeader names the soak client a request comes from, so that the handler can check the
// session it was handed against what that client owns.
const clientHeader = "X-Soak-Client"

// handlerFunc is the protected handler, the same for every framework: it gets the
// clientHeader value and what the adapter's session accessor returned.
type handlerFunc func(client string, s *ory.Session, ok bool)

// app is one framework app on its own loopback listener, serving GET /r behind RequireAAL2.
type app struct {
	URL   string // http://127.0.0.1:port
	close func()
}

var okBody = []byte("ok")

// startApp builds the adapter's app with RequireAAL2(WithVerifier(v)) on GET /r in front of
// h, and serves it on 127.0.0.1:0. The listener is bound before startApp returns, so the app
// accepts connections at once.
func startApp(adapter string, v *core.Verifier, h handlerFunc) (*app, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &app{URL: "http://" + ln.Addr().String()}
	var handler http.Handler
	switch adapter {
	case "nethttp":
		mux := http.NewServeMux()
		mux.Handle("GET /r", orymnethttp.RequireAAL2(orymnethttp.WithVerifier(v))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, ok := orymnethttp.SessionFromContext(r.Context())
			h(r.Header.Get(clientHeader), s, ok)
			_, _ = w.Write(okBody)
		})))
		handler = mux
	case "chi":
		r := gochi.NewRouter()
		r.With(orymchi.RequireAAL2(orymchi.WithVerifier(v))).Get("/r", func(w http.ResponseWriter, r *http.Request) {
			s, ok := orymchi.SessionFromContext(r.Context())
			h(r.Header.Get(clientHeader), s, ok)
			_, _ = w.Write(okBody)
		})
		handler = r
	case "gin":
		gingonic.SetMode(gingonic.ReleaseMode)
		r := gingonic.New()
		r.GET("/r", orymgin.RequireAAL2(orymgin.WithVerifier(v)), func(c *gingonic.Context) {
			s, ok := orymgin.Session(c)
			h(c.GetHeader(clientHeader), s, ok)
			c.Data(http.StatusOK, "text/plain; charset=utf-8", okBody)
		})
		handler = r
	case "echo":
		e := labecho.New()
		e.HideBanner, e.HidePort = true, true
		e.GET("/r", func(c labecho.Context) error {
			s, ok := orymecho.Session(c)
			h(c.Request().Header.Get(clientHeader), s, ok)
			return c.Blob(http.StatusOK, "text/plain; charset=utf-8", okBody)
		}, orymecho.RequireAAL2(orymecho.WithVerifier(v)))
		handler = e
	case "echov5":
		e := labecho5.New()
		e.GET("/r", func(c *labecho5.Context) error {
			s, ok := orymecho5.Session(c)
			h(c.Request().Header.Get(clientHeader), s, ok)
			return c.Blob(http.StatusOK, "text/plain; charset=utf-8", okBody)
		}, orymecho5.RequireAAL2(orymecho5.WithVerifier(v)))
		handler = e
	case "fiber":
		f := gofiber.New(gofiber.Config{DisableStartupMessage: true})
		f.Get("/r", orymfiber.RequireAAL2(orymfiber.WithVerifier(v)), func(c *gofiber.Ctx) error {
			s, ok := orymfiber.Session(c)
			h(c.Get(clientHeader), s, ok)
			return c.Send(okBody)
		})
		go func() { _ = f.Listener(ln) }()
		a.close = func() { _ = f.ShutdownWithTimeout(5 * time.Second) }
		return a, nil
	case "fiberv3":
		f := gofiber3.New()
		f.Get("/r", orymfiber3.RequireAAL2(orymfiber3.WithVerifier(v)), func(c gofiber3.Ctx) error {
			s, ok := orymfiber3.Session(c)
			h(c.Get(clientHeader), s, ok)
			return c.Send(okBody)
		})
		go func() { _ = f.Listener(ln, gofiber3.ListenConfig{DisableStartupMessage: true}) }()
		a.close = func() { _ = f.ShutdownWithTimeout(5 * time.Second) }
		return a, nil
	default:
		_ = ln.Close()
		return nil, fmt.Errorf("unknown adapter %q (known: %v)", adapter, allAdapters)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	a.close = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
	return a, nil
}

// knownAdapter reports whether name is one of allAdapters.
func knownAdapter(name string) bool {
	for _, a := range allAdapters {
		if a == name {
			return true
		}
	}
	return false
}
