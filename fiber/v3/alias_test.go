package orymfa_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	ory "github.com/ory/client-go"
	"github.com/valyala/fasthttp"

	orymfa "github.com/orymfa/orymfa/fiber/v3"
	"github.com/orymfa/orymfa/orymfatest"
)

// aliasUser is one signed-in user of TestConcurrentCredentialsDoNotAlias and how its
// requests carry the credential.
type aliasUser struct {
	header, value string // e.g. "Cookie", "_ga=1; ory_kratos_session=…; lang=en"
	want          string // what the handler must answer: session id and identity id
}

// lateTransport sends each whoami request only after a few milliseconds, as a slow network
// would: when a request that gave up after one millisecond has long gone and its worker has
// reused its buffers for the next request.
type lateTransport struct{}

func (lateTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case <-time.After(3 * time.Millisecond):
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestConcurrentCredentialsDoNotAlias proves that nothing the core keeps aliases fasthttp's
// reused buffers. Workers each own one fasthttp.RequestCtx, as fasthttp's server gives one to
// each connection, and overwrite its headers in place for the next request as soon as the
// handler returns. Distinct users send cookies, session tokens or bearer tokens; several
// workers ask for the same user at once, so cache misses coalesce into one shared whoami
// call; some requests give up after a millisecond while the shared call they started goes on
// for the others (sent 3 ms later), so that call must not read their buffers then. Every handler must see its own user, and a second round must find each
// credential cached (or, with the cache off, verified) as the right user.
func TestConcurrentCredentialsDoNotAlias(t *testing.T) {
	for _, cache := range []orymfa.CacheConfig{{}, {Disabled: true}} {
		t.Run(fmt.Sprintf("cache disabled %v", cache.Disabled), func(t *testing.T) {
			srv := orymfatest.NewServer(t)
			client := ory.NewConfiguration()
			client.Servers = ory.ServerConfigurations{{URL: srv.URL}}
			client.HTTPClient = &http.Client{Transport: lateTransport{}}
			v := orymfa.MustNew(orymfa.Config{SDKURL: srv.URL, APIClient: ory.NewAPIClient(client), Cache: cache,
				Logger: slog.New(slog.DiscardHandler), OnError: func(context.Context, error) {}})
			users := make([]aliasUser, 24)
			for i := range users {
				token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)
				s := srv.Session(token)
				users[i].want = s.Id + " " + s.Identity.Id
				switch i % 3 {
				case 0:
					c := srv.Cookie(token)
					users[i].header, users[i].value = "Cookie", "_ga=GA1.1.2094823482; theme=dark; "+c.Name+"="+c.Value+"; lang=en-GB"
				case 1:
					users[i].header, users[i].value = "X-Session-Token", token
				case 2:
					users[i].header, users[i].value = "Authorization", "Bearer "+token
				}
			}

			app := fiber.New()
			app.Get("/r", func(c fiber.Ctx) error {
				if c.Get("X-Leave") == "1" { // this client gives up after a millisecond
					ctx, cancel := context.WithTimeout(c.Context(), time.Millisecond)
					defer cancel()
					c.SetContext(ctx)
				}
				return c.Next()
			}, orymfa.RequireAAL2(orymfa.WithVerifier(v)), func(c fiber.Ctx) error {
				s, ok := orymfa.Session(c)
				if !ok {
					return c.SendStatus(http.StatusInternalServerError)
				}
				return c.SendString(s.Id + " " + s.Identity.Id)
			})
			h := app.Handler()

			// round serves every user to every worker; worker w starts at user w/4, so about
			// four workers ask for each user at once. With leave, every fifth request leaves.
			round := func(leave bool) (requests int) {
				const workers = 16
				var wg sync.WaitGroup
				var mu sync.Mutex
				for w := range workers {
					wg.Go(func() {
						var fc fasthttp.RequestCtx
						n := 0
						for i := range users {
							u := users[(i+w/4)%len(users)]
							gone := leave && (i+w)%5 == 0
							fc.Request.Reset()
							fc.Response.Reset()
							fc.Request.Header.SetMethod(http.MethodGet)
							fc.Request.SetRequestURI("/r")
							fc.Request.Header.SetHost("app.example")
							fc.Request.Header.Set("Accept", "application/json")
							fc.Request.Header.Set(u.header, u.value)
							if gone {
								fc.Request.Header.Set("X-Leave", "1")
							}
							h(&fc)
							fc.ResetUserValues() // as fasthttp's server does after each request
							status, body := fc.Response.StatusCode(), string(fc.Response.Body())
							switch {
							case gone && status == http.StatusGatewayTimeout:
							case status != http.StatusOK || body != u.want:
								t.Errorf("worker %d, %s %.40q…: status %d, body %q; want 200 %q", w, u.header, u.value, status, body, u.want)
							}
							// Scribble over the buffers the request used, as the next request on
							// this connection would.
							fc.Request.Header.Set(u.header, strings.Repeat("x", len(u.value)))
							n++
						}
						mu.Lock()
						requests += n
						mu.Unlock()
					})
				}
				wg.Wait()
				return requests
			}

			n := round(true)
			calls := srv.Calls()
			if cache.Disabled && calls >= n {
				t.Errorf("round 1: %d whoami calls for %d requests: no call was shared", calls, n)
			}
			t.Logf("round 1: %d requests, %d whoami calls", n, calls)

			srv.ResetCalls()
			n = round(false)
			calls = srv.Calls()
			if !cache.Disabled && calls != 0 {
				t.Errorf("round 2: %d whoami calls, want 0: every credential should be cached", calls)
			}
			t.Logf("round 2: %d requests, %d whoami calls", n, calls)
		})
	}
}
