//go:build soak

package benchmarks

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/internal/conformance"
	"github.com/orymfa/orymfa/internal/kratostest"
)

var (
	soakAdapter  = flag.String("soak.adapter", "nethttp", "the adapter of the registry the soak runs through")
	soakDuration = flag.Duration("soak.duration", 60*time.Second, "how long the soak's traffic runs")
)

const (
	soakWorkers = 16
	soakTTL     = 2 * time.Second // the verifier's cache TTL
	// soakGrace is the slack on top of the TTL for a grant after a logout or after Kratos
	// stopped: a whoami Kratos answered just before may reach the verifier a little later.
	soakGrace = time.Second
)

// The soak's clients, by kind: what each must be answered while Ory is up.
const (
	aal2Token  = "aal2 token"  // an aal2 session token: 200
	aal2Cookie = "aal2 cookie" // a browser's aal2 session cookie among app cookies: 200
	aal1Token  = "aal1 token"  // a password-only session of a user with TOTP: 403
	unknown    = "unknown"     // a new random token per request: 401
	loggedOut  = "logged out"  // an aal2 token logged out at a quarter of the run: 200, then 401 after the TTL
)

type soakClient struct {
	kind, token, cookie string
	sid                 string // the session the client owns; "" for those that must never pass
}

// soakAnswer is what the protected handler answered: the session it was handed.
type soakAnswer struct {
	SID  string `json:"sid"`
	AAL  string `json:"aal"`
	Same bool   `json:"same"`
}

// TestSoak sends mixed traffic through one adapter (-soak.adapter) against a real Kratos whose
// sessions live in SQLite, logs some sessions out at 25% of the run, stops Kratos at 40% and
// starts it again at 60%, and fails if: a request passes without its own aal2 session (or a
// logged-out one passes past the TTL); while Kratos is up, a client gets another answer than
// its kind must; while it is down, anything but a 503/504 or a cached grant within the TTL; no
// grant from Ory after the restart; goroutines or descriptors grow over the run. The live heap
// is logged, not asserted: kratostest keeps Kratos's log in this process.
func TestSoak(t *testing.T) {
	a, ok := conformance.AdapterNamed(*soakAdapter)
	if !ok {
		t.Fatalf("no adapter %q in the registry", *soakAdapter)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *soakDuration+5*time.Minute)
	defer cancel()
	p, err := kratostest.Start(ctx, kratostest.TOTP, kratostest.WithPersistentStore())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	clients := soakClients(ctx, t, p)
	v, err := core.New(core.Config{
		SDKURL: p.PublicURL, AppURL: "http://127.0.0.1", Timeout: time.Second,
		Cache: core.CacheConfig{TTL: soakTTL}, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	url := a.Serve(t, conformance.App{
		Verifier: v, Other: v, MaxAge: time.Hour,
		Handle: func(s, fromContext *ory.Session) (int, []byte) {
			body, _ := json.Marshal(soakAnswer{SID: s.GetId(), AAL: string(s.GetAuthenticatorAssuranceLevel()), Same: s == fromContext})
			return http.StatusOK, body
		},
		Deny: func(*core.Decision) (int, []byte) { return http.StatusForbidden, nil },
	})
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{MaxIdleConnsPerHost: soakWorkers},
	}

	var (
		tl         timeline
		mu         sync.Mutex
		counts     = map[string]int{} // "phase kind status"
		violations []string
		recovered  atomic.Int64 // first grant from Ory after the restart, ns after ready
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(violations) < 20 {
			violations = append(violations, fmt.Sprintf(format, args...))
		}
	}
	start := time.Now()
	end := start.Add(*soakDuration)
	goroutines0, fds0 := 0, 0
	var wg sync.WaitGroup
	for w := range soakWorkers {
		wg.Go(func() {
			for i := w; time.Now().Before(end); i++ {
				c := clients[i%len(clients)]
				if c.kind == unknown {
					c.token = "ory_st_" + rand.Text()[:26] + "abcdef"
				}
				sent := time.Now()
				status, ans, err := soakGet(ctx, client, url+"/aal2", c)
				done := time.Now()
				phase := tl.phase(sent, done)
				mu.Lock()
				counts[fmt.Sprintf("%-10s %-11s %d", phase, c.kind, status)]++
				mu.Unlock()
				if err != nil {
					fail("%s %s: %v", phase, c.kind, err)
					continue
				}
				if status == http.StatusOK {
					if c.sid == "" || ans.SID != c.sid || ans.AAL != "aal2" || !ans.Same {
						fail("PASSED WITHOUT ITS OWN SESSION: %s client, handler saw %+v", c.kind, ans)
					}
					if c.kind == loggedOut && tl.after(&tl.loggedOut, sent, soakTTL+soakGrace) {
						fail("logged-out session passed %v after its logout", sent.Sub(tl.at(&tl.loggedOut)))
					}
					if phase == "down" && tl.after(&tl.stopped, sent, soakTTL+soakGrace) {
						fail("a grant %v after Kratos stopped, past the TTL", sent.Sub(tl.at(&tl.stopped)))
					}
					if phase == "restarted" {
						recovered.CompareAndSwap(0, int64(done.Sub(tl.at(&tl.ready))))
					}
				}
				switch want := c.want(&tl, sent); phase {
				case "up", "restarted":
					if want != 0 && status != want {
						fail("%s: %s client got %d, want %d", phase, c.kind, status, want)
					}
				case "down":
					if status != http.StatusOK && status != http.StatusServiceUnavailable && status != http.StatusGatewayTimeout {
						fail("down: %s client got %d, want 503, 504 or a cached 200", c.kind, status)
					}
				}
			}
		})
	}
	at := func(frac float64) <-chan time.Time {
		return time.After(time.Until(start.Add(time.Duration(frac * float64(*soakDuration)))))
	}
	<-at(0.05)
	goroutines0, fds0 = runtime.NumGoroutine(), openFDs()
	<-at(0.25)
	for _, c := range clients {
		if c.kind == loggedOut {
			soakLogout(ctx, t, p, c.token)
		}
	}
	tl.set(&tl.loggedOut)
	<-at(0.40)
	tl.set(&tl.stopping)
	p.Stop()
	tl.set(&tl.stopped)
	<-at(0.60)
	tl.set(&tl.restarting)
	if err := p.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	tl.set(&tl.ready)
	wg.Wait()
	client.CloseIdleConnections()

	var b strings.Builder
	for _, phase := range []string{"up", "down", "restarted", "transition"} {
		for _, k := range slices.Sorted(maps.Keys(counts)) {
			if strings.HasPrefix(k, phase+" ") {
				fmt.Fprintf(&b, "\n  %s  %d", k, counts[k])
			}
		}
	}
	t.Logf("%s through %s, %d workers: phase, client, status, answers:%s", *soakDuration, a.Name, soakWorkers, b.String())
	for _, v := range violations {
		t.Error(v)
	}
	if r := time.Duration(recovered.Load()); r == 0 {
		t.Error("no grant from Ory after the restart")
	} else {
		t.Logf("first grant from Ory %v after Kratos was ready again", r)
	}
	// Idle connections and finished requests leave their goroutines and descriptors shortly
	// after the traffic stops; a leak stays.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > goroutines0+10 || openFDs() > fds0+10 {
		if time.Now().After(deadline) {
			t.Errorf("goroutines %d → %d, open descriptors %d → %d over the run", goroutines0, runtime.NumGoroutine(), fds0, openFDs())
			break
		}
		runtime.Gosched()
		time.Sleep(50 * time.Millisecond) // polling a count that only time can lower, not a server
	}
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	t.Logf("goroutines %d, open descriptors %d (at 5%%: %d, %d); live heap %d KiB", runtime.NumGoroutine(), openFDs(), goroutines0, fds0, m.HeapAlloc>>10)
}

// want is the status a client of this kind must get while Kratos is up, or 0 when either
// answer is right (a logged-out session within the TTL of its logout).
func (c soakClient) want(tl *timeline, sent time.Time) int {
	switch c.kind {
	case aal2Token, aal2Cookie:
		return http.StatusOK
	case aal1Token:
		return http.StatusForbidden
	case unknown:
		return http.StatusUnauthorized
	}
	switch {
	case tl.at(&tl.loggedOut).IsZero():
		return http.StatusOK
	case tl.after(&tl.loggedOut, sent, soakTTL+soakGrace):
		return http.StatusUnauthorized
	}
	return 0
}

// timeline holds when each event of the run happened (zero: not yet).
type timeline struct {
	mu                                              sync.Mutex
	loggedOut, stopping, stopped, restarting, ready time.Time
}

func (tl *timeline) set(t *time.Time) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	*t = time.Now()
}

func (tl *timeline) at(t *time.Time) time.Time {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return *t
}

// after reports whether the event happened and sent is more than d after it.
func (tl *timeline) after(t *time.Time, sent time.Time, d time.Duration) bool {
	at := tl.at(t)
	return !at.IsZero() && sent.Sub(at) > d
}

// phase says when a request sent at sent and answered at done ran: up (answered before the
// stop began), down (sent after Kratos exited, answered before the restart began), restarted
// (sent after Kratos was ready again) or transition (overlapping either).
func (tl *timeline) phase(sent, done time.Time) string {
	stopping, stopped, restarting, ready := tl.at(&tl.stopping), tl.at(&tl.stopped), tl.at(&tl.restarting), tl.at(&tl.ready)
	switch {
	case stopping.IsZero() || done.Before(stopping):
		return "up"
	case !stopped.IsZero() && sent.After(stopped) && (restarting.IsZero() || done.Before(restarting)):
		return "down"
	case !ready.IsZero() && sent.After(ready):
		return "restarted"
	}
	return "transition"
}

func soakGet(ctx context.Context, client *http.Client, url string, c soakClient) (int, soakAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, soakAnswer{}, err
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("X-Session-Token", c.token)
	}
	if c.cookie != "" {
		req.Header.Set("Cookie", browserCookie(c.cookie))
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, soakAnswer{}, err
	}
	defer resp.Body.Close()
	var ans soakAnswer
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &ans); err != nil {
			return resp.StatusCode, ans, fmt.Errorf("a 200 that is not the handler's: %s", body)
		}
	}
	return resp.StatusCode, ans, nil
}

// soakClients signs the soak's users up: 8 aal2 tokens and 4 aal2 browsers (TOTP enrolled,
// which upgrades the session in place), 4 aal1 tokens (TOTP enrolled, then a password-only
// login), 4 aal2 tokens to log out, and 4 slots for unknown tokens.
func soakClients(ctx context.Context, t *testing.T, p *kratostest.Project) []soakClient {
	var out []soakClient
	sid := func(body []byte) string {
		var s struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(body, &s); err != nil || s.ID == "" {
			t.Fatalf("whoami: %s", body)
		}
		return s.ID
	}
	token := func() (string, string) {
		email := kratostest.NewEmail()
		tok, err := p.RegisterAPI(ctx, email, kratostest.Password)
		if err == nil {
			_, err = p.EnrollTOTPAPI(ctx, tok)
		}
		if err != nil {
			t.Fatal(err)
		}
		return tok, email
	}
	for i := range 24 {
		switch {
		case i < 8 || i >= 16 && i < 20:
			tok, _ := token()
			_, body, err := p.Whoami(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			kind := aal2Token
			if i >= 16 {
				kind = loggedOut
			}
			out = append(out, soakClient{kind: kind, token: tok, sid: sid(body)})
		case i < 12:
			b := p.NewBrowser()
			if err := b.Register(ctx, kratostest.NewEmail(), kratostest.Password); err != nil {
				t.Fatal(err)
			}
			if _, err := b.EnrollTOTP(ctx); err != nil {
				t.Fatal(err)
			}
			_, body, err := b.Whoami(ctx)
			if err != nil {
				t.Fatal(err)
			}
			c := b.SessionCookie()
			out = append(out, soakClient{kind: aal2Cookie, cookie: c.Name + "=" + c.Value, sid: sid(body)})
		case i < 16:
			_, email := token()
			tok, err := p.LoginAPI(ctx, email, kratostest.Password)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, soakClient{kind: aal1Token, token: tok})
		default:
			out = append(out, soakClient{kind: unknown})
		}
	}
	return out
}

// soakLogout ends token's session in Kratos (DELETE /self-service/logout/api).
func soakLogout(ctx context.Context, t *testing.T, p *kratostest.Project, token string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, p.PublicURL+"/self-service/logout/api",
		strings.NewReader(`{"session_token":"`+token+`"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %s", resp.Status)
	}
}

// openFDs counts this process's open descriptors (Linux; 0 elsewhere).
func openFDs() int {
	entries, _ := os.ReadDir("/proc/self/fd")
	return len(entries)
}
