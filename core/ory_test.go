package core_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ory "github.com/ory/client-go"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/core/internal/wait"
	"github.com/orymfa/orymfa/orymfatest"
)

// blockingOry answers whoami only once release is closed.
func blockingOry(t *testing.T) (srv *orymfatest.Server, token string, arrived chan struct{}, release chan struct{}) {
	srv = orymfatest.NewServer(t)
	token = srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
	doc := sessionJSON(t, srv, token)
	arrived, release = make(chan struct{}, 1000), make(chan struct{})
	srv.Respond(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		writeJSON(w, 200, doc)
	})
	return srv, token, arrived, release
}

func TestConcurrentFirstRequestsShareOneCall(t *testing.T) {
	srv, token, arrived, release := blockingOry(t)
	g := core.MustGuard(core.RequireAAL2, core.WithVerifier(newVerifier(t, srv.URL, core.Config{})))
	const n = 200
	var wg sync.WaitGroup
	var allowed atomic.Int64
	for range n {
		wg.Go(func() {
			if d := g.Check(ctx(t), apiRequest(token)); d.Allowed() {
				allowed.Add(1)
			}
		})
	}
	<-arrived // the one call is in flight; the others join it or hit the cache afterwards
	close(release)
	wg.Wait()
	if allowed.Load() != n || srv.Calls() != 1 {
		t.Fatalf("allowed %d of %d with %d whoami calls, want all with 1", allowed.Load(), n, srv.Calls())
	}
}

func TestCancelledCallerDoesNotFailTheOthers(t *testing.T) {
	srv, token, arrived, release := blockingOry(t)
	g := core.MustGuard(core.RequireAAL2, core.WithVerifier(newVerifier(t, srv.URL, core.Config{})))
	leaving, cancel := context.WithCancel(context.Background())
	first := make(chan core.Decision)
	go func() { first <- g.Check(leaving, apiRequest(token)) }()
	<-arrived // the shared call started under the first caller's context
	others := make(chan core.Decision, 5)
	for range 5 {
		go func() { others <- g.Check(ctx(t), apiRequest(token)) }()
	}
	cancel()
	if d := <-first; d.Outcome != core.Unavailable || d.Allowed() {
		t.Fatalf("cancelled caller: %v", d.Outcome)
	}
	close(release)
	for range 5 {
		if d := <-others; !d.Allowed() {
			t.Fatalf("another caller failed with the first one's cancellation: %v", d.Err)
		}
	}
	// The others may have joined after the first left and the call was abandoned: then one
	// more call, never more.
	if n := srv.Calls(); n < 1 || n > 2 {
		t.Fatalf("%d calls, want 1 (or 2 if every waiter had left the first)", n)
	}
}

// panicking is a RoundTripper with a bug, as a user's instrumentation might have.
type panicking struct{ calls atomic.Int64 }

func (p *panicking) RoundTrip(*http.Request) (*http.Response, error) {
	p.calls.Add(1)
	panic("instrumentation bug")
}

// A panic on the whoami path fails the request closed (502), is reported as the panic it was,
// and the process keeps serving: singleflight alone would re-raise it where no server
// recovers it. With an Observer, which sees the call end, the panic still goes on to the
// shared call, rather than leaving the request without a session or an error.
func TestPanickingTransportFailsClosed(t *testing.T) {
	for name, obs := range map[string]core.Observer{"no observer": nil, "an observer": &buggyObserver{}} {
		t.Run(name, func(t *testing.T) {
			srv := orymfatest.NewServer(t)
			token := srv.SignIn(srv.NewIdentity(), orymfatest.AAL2)
			rt := &panicking{}
			cfg := ory.NewConfiguration()
			cfg.Servers = ory.ServerConfigurations{{URL: srv.URL}}
			cfg.HTTPClient = &http.Client{Transport: rt}
			var reported atomic.Int64
			v := newVerifier(t, srv.URL, core.Config{APIClient: ory.NewAPIClient(cfg), Observer: obs, OnError: func(_ context.Context, err error) {
				if strings.Contains(err.Error(), "(panic while asking Ory): instrumentation bug") {
					reported.Add(1)
				}
			}})
			g := core.MustGuard(core.RequireAAL2, core.WithVerifier(v))
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() {
					if d := g.Check(ctx(t), apiRequest(token)); d.Outcome != core.Unavailable || d.Status != 502 {
						t.Errorf("panicking transport: %v %d", d.Outcome, d.Status)
					}
				})
			}
			wg.Wait()
			if n := reported.Load(); n == 0 || n != rt.calls.Load() {
				t.Fatalf("%d panics reported for %d calls", n, rt.calls.Load())
			}
		})
	}
}

// A shared whoami call ends once every request waiting on it has given up: 1,000
// requests for 250 sessions, all waiting on an Ory that never answers, give up together once
// Ory has received its 250 calls; then nothing stays running at Ory and each call was
// cancelled. (They give up on a signal rather than after a fixed 20 ms so that a loaded
// machine cannot make them give up before their calls even reach Ory.)
func TestAbandonedWhoamiCallsAreCancelled(t *testing.T) {
	srv := orymfatest.NewServer(t)
	var running, cancelled atomic.Int64
	stop := make(chan struct{}) // closed before the server, so a failing test does not hang in Close
	t.Cleanup(func() { close(stop) })
	srv.Respond(func(w http.ResponseWriter, r *http.Request) {
		running.Add(1)
		defer running.Add(-1)
		select { // an Ory that never answers
		case <-r.Context().Done():
			cancelled.Add(1)
		case <-stop:
		}
	})
	v := newVerifier(t, srv.URL, core.Config{Timeout: time.Minute, MaxIdleConns: 1000})
	g := core.MustGuard(core.RequireSession, core.WithVerifier(v))
	const n, sessions = 1000, 250
	giveUp := giveUpContext{Context: context.Background(), done: make(chan struct{})}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if d := g.Check(giveUp, apiRequest("ory_st_"+strconv.Itoa(i%sessions))); d.Status != 504 {
				t.Errorf("gave up: %d, want 504", d.Status)
			}
		})
	}
	wait.For(t, "Ory to receive one call per session", func() bool { return running.Load() == sessions })
	close(giveUp.done)
	wg.Wait()
	wait.For(t, "every whoami call to end at Ory after every caller gave up", func() bool { return running.Load() == 0 })
	if c := cancelled.Load(); c != sessions {
		t.Fatalf("%d calls seen cancelled at Ory, want %d (one per session)", c, sessions)
	}
}

// giveUpContext is a caller's context whose deadline passes when done is closed.
type giveUpContext struct {
	context.Context
	done chan struct{}
}

func (c giveUpContext) Done() <-chan struct{} { return c.done }

func (c giveUpContext) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
