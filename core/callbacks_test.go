package core_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/core/internal/wait"
	"github.com/orymfa/orymfa/orymfatest"
)

// buggyObserver panics, as a bug (a write to a nil map) would, the first time its method
// named in panicIn is called.
type buggyObserver struct {
	panicIn  string
	panicked atomic.Bool
}

func (o *buggyObserver) call(method string) {
	if method == o.panicIn && o.panicked.CompareAndSwap(false, true) {
		var m map[string]int
		m[method]++
	}
}

func (o *buggyObserver) StartCheck(ctx context.Context) context.Context {
	o.call("StartCheck")
	return ctx
}
func (o *buggyObserver) EndCheck(context.Context, core.CheckEvent) { o.call("EndCheck") }
func (o *buggyObserver) StartWhoami(ctx context.Context) context.Context {
	o.call("StartWhoami")
	return ctx
}
func (o *buggyObserver) EndWhoami(context.Context, core.WhoamiEvent) { o.call("EndWhoami") }
func (o *buggyObserver) CacheLookup(bool)                            { o.call("CacheLookup") }
func (o *buggyObserver) CacheEvicted()                               { o.call("CacheEvicted") }

// panickingHandler is a slog.Handler with a bug.
type panickingHandler struct{ slog.Handler }

func (panickingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (panickingHandler) Handle(context.Context, slog.Record) error {
	var m map[string]int
	m["record"]++
	return nil
}

// checkWithin runs a check that must end: a cache wedged by a panic would block it for good.
func checkWithin(t *testing.T, g *core.Guard, r *core.Request) core.Decision {
	t.Helper()
	done := make(chan core.Decision, 1)
	go func() { done <- g.Check(ctx(t), r) }()
	select {
	case d := <-done:
		return d
	case <-time.After(wait.Patience):
		t.Fatal("the check never ended: the cache is wedged")
		return core.Decision{}
	}
}

// A panic in user code the core calls (OnError, the Logger's handler, any Observer method)
// fails the request it happened in closed, and the app keeps serving: the next requests are
// decided as usual. Without care the OnError and log panics happened inside the shared whoami
// call, whose recovery reported them again, and the second panic killed the process; and an
// Observer.CacheEvicted panic left a cache shard locked for good.
func TestPanickingCallbacksFailClosed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    func(*core.Config)
		oryErr bool // Ory answers 500 for the first request, so that an error is reported
	}{
		{"OnError, Ory answering 500", func(c *core.Config) {
			c.OnError = func(context.Context, error) { var m map[string]int; m["error"]++ }
		}, true},
		{"the Logger's handler, Ory answering 500", func(c *core.Config) {
			c.Logger, c.OnError = slog.New(panickingHandler{}), nil
		}, true},
		{"Observer.StartCheck", observer("StartCheck"), false},
		{"Observer.EndCheck", observer("EndCheck"), false},
		{"Observer.StartWhoami", observer("StartWhoami"), false},
		{"Observer.EndWhoami", observer("EndWhoami"), false},
		{"Observer.CacheLookup", observer("CacheLookup"), false},
		{"Observer.CacheEvicted", observer("CacheEvicted"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := orymfatest.NewServer(t)
			cfg := core.Config{SDKURL: srv.URL, AppURL: "https://app.example", Cache: core.CacheConfig{MaxEntries: 1}}
			tc.cfg(&cfg)
			v, err := core.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			g := core.MustGuard(core.RequireAAL2, core.WithVerifier(v))
			if tc.oryErr {
				srv.SetFault(orymfatest.Status(500))
			}
			// Three users in a one-entry cache: the second evicts the first, and the third
			// (and the first again) need the shard the eviction happened on.
			var users []string
			for range 3 {
				users = append(users, srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2))
			}
			failed := 0
			for i, token := range append(users, users[0]) {
				d := checkWithin(t, g, apiRequest(token))
				if tc.oryErr && i == 0 {
					srv.ClearFault()
				}
				switch {
				case d.Allowed():
				case d.Outcome == core.Unavailable && d.Status == 502:
					failed++
				default:
					t.Fatalf("request %d: %v %d (%v), want allowed or failed closed", i, d.Outcome, d.Status, d.Err)
				}
			}
			if failed != 1 {
				t.Fatalf("%d requests failed closed, want 1 (the one the panic happened in): the others are served", failed)
			}
			if o, ok := cfg.Observer.(*buggyObserver); ok && !o.panicked.Load() {
				t.Fatalf("%s was never called", o.panicIn)
			}
		})
	}
}

func observer(method string) func(*core.Config) {
	return func(c *core.Config) { c.Observer = &buggyObserver{panicIn: method} }
}
