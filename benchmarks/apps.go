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

// app is one framework app on its own loopback listener. It serves two routes answering
// 200 "ok": /r, guarded by RequireAAL2 when the app has a verifier (bare otherwise), and /open,
// never guarded (used to open keep-alive connections before a measurement).
type app struct {
	URL   string // http://127.0.0.1:port
	close func()
}

var okBody = []byte("ok")

// startApp builds the adapter's app (guarded with v, or bare when v is nil) and serves it on
// 127.0.0.1:0. The listener is bound before startApp returns, so the app accepts connections
// at once (queued in the backlog until the serve loop picks them up): no waiting needed.
func startApp(adapter string, v *core.Verifier) (*app, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &app{URL: "http://" + ln.Addr().String()}
	var h http.Handler
	switch adapter {
	case "nethttp":
		ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(okBody) })
		mux := http.NewServeMux()
		mux.Handle("GET /open", ok)
		if v != nil {
			mux.Handle("GET /r", orymnethttp.RequireAAL2(orymnethttp.WithVerifier(v))(ok))
		} else {
			mux.Handle("GET /r", ok)
		}
		h = mux
	case "chi":
		ok := func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(okBody) }
		r := gochi.NewRouter()
		r.Get("/open", ok)
		if v != nil {
			r.With(orymchi.RequireAAL2(orymchi.WithVerifier(v))).Get("/r", ok)
		} else {
			r.Get("/r", ok)
		}
		h = r
	case "gin":
		gingonic.SetMode(gingonic.ReleaseMode)
		ok := func(c *gingonic.Context) { c.Data(http.StatusOK, "text/plain; charset=utf-8", okBody) }
		r := gingonic.New()
		r.GET("/open", ok)
		if v != nil {
			r.GET("/r", orymgin.RequireAAL2(orymgin.WithVerifier(v)), ok)
		} else {
			r.GET("/r", ok)
		}
		h = r
	case "echo":
		ok := func(c labecho.Context) error { return c.Blob(http.StatusOK, "text/plain; charset=utf-8", okBody) }
		e := labecho.New()
		e.HideBanner, e.HidePort = true, true
		e.GET("/open", ok)
		if v != nil {
			e.GET("/r", ok, orymecho.RequireAAL2(orymecho.WithVerifier(v)))
		} else {
			e.GET("/r", ok)
		}
		h = e
	case "echov5":
		ok := func(c *labecho5.Context) error { return c.Blob(http.StatusOK, "text/plain; charset=utf-8", okBody) }
		e := labecho5.New()
		e.GET("/open", ok)
		if v != nil {
			e.GET("/r", ok, orymecho5.RequireAAL2(orymecho5.WithVerifier(v)))
		} else {
			e.GET("/r", ok)
		}
		h = e
	case "fiber":
		ok := func(c *gofiber.Ctx) error { return c.Send(okBody) }
		f := gofiber.New(gofiber.Config{DisableStartupMessage: true})
		f.Get("/open", ok)
		if v != nil {
			f.Get("/r", orymfiber.RequireAAL2(orymfiber.WithVerifier(v)), ok)
		} else {
			f.Get("/r", ok)
		}
		go func() { _ = f.Listener(ln) }()
		a.close = func() { _ = f.ShutdownWithTimeout(5 * time.Second) }
		return a, nil
	case "fiberv3":
		ok := func(c gofiber3.Ctx) error { return c.Send(okBody) }
		f := gofiber3.New()
		f.Get("/open", ok)
		if v != nil {
			f.Get("/r", orymfiber3.RequireAAL2(orymfiber3.WithVerifier(v)), ok)
		} else {
			f.Get("/r", ok)
		}
		go func() { _ = f.Listener(ln, gofiber3.ListenConfig{DisableStartupMessage: true}) }()
		a.close = func() { _ = f.ShutdownWithTimeout(5 * time.Second) }
		return a, nil
	default:
		_ = ln.Close()
		return nil, fmt.Errorf("unknown adapter %q (known: %v)", adapter, allAdapters)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	a.close = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}
	return a, nil
}
