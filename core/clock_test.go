package core_test

import (
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/orymfa/orymfa/core"
	"github.com/orymfa/orymfa/orymfatest"
)

// stepWall returns t with its wall-clock reading moved by d and its monotonic reading kept,
// as a wall-clock step (NTP at boot, a resume from suspend) makes time.Now's readings; the
// time package has no way to make one. It writes time.Time's representation (unchanged since
// Go 1.9: a word with a has-monotonic flag, 33 bits of seconds since 1885 and 30 bits of
// nanoseconds; then the monotonic reading; then the location); TestStepWall checks it.
func stepWall(t time.Time, d time.Duration) time.Time {
	type repr struct {
		wall uint64
		ext  int64
		loc  *time.Location
	}
	const hasMonotonic = 1 << 63
	r := *(*repr)(unsafe.Pointer(&t))
	if r.wall&hasMonotonic == 0 {
		panic("stepWall: t has no monotonic reading")
	}
	w := t.Round(0).Add(d)
	sec := w.Unix() - time.Date(1885, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	r.wall = hasMonotonic | uint64(sec)<<30 | uint64(w.Nanosecond())
	return *(*time.Time)(unsafe.Pointer(&r))
}

func TestStepWall(t *testing.T) {
	now := time.Now()
	for _, d := range []time.Duration{time.Hour, -time.Hour, 1500 * time.Millisecond} {
		s := stepWall(now, d)
		if !s.Round(0).Equal(now.Round(0).Add(d)) || s.Sub(now) != 0 || s.Location() != now.Location() {
			t.Fatalf("stepWall(%v): wall %v (want %v), monotonic difference %v (want 0)", d, s.Round(0), now.Round(0).Add(d), s.Sub(now))
		}
	}
}

// wallClock is a clock whose monotonic time moves with Advance and whose wall clock can also
// be stepped on its own.
type wallClock struct {
	mu      sync.Mutex
	base    time.Time // time.Now's: with a monotonic reading
	elapsed time.Duration
	step    time.Duration
}

func (c *wallClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return stepWall(c.base.Add(c.elapsed), c.step)
}

func (c *wallClock) Advance(d time.Duration) { c.mu.Lock(); c.elapsed += d; c.mu.Unlock() }

func (c *wallClock) Step(d time.Duration) { c.mu.Lock(); c.step += d; c.mu.Unlock() }

// Ory's times are compared with the wall clock of the moment, and the cache's TTL runs on the
// monotonic clock: a wall-clock step after start neither skews a session's age (WithMaxAge)
// nor makes a cache entry outlive its TTL (a step back used to extend it by the step).
func TestWallClockStepsMoveAgesNotTheCacheTTL(t *testing.T) {
	srv := orymfatest.NewServer(t)
	token := srv.SignIn(srv.NewIdentity(orymfatest.WithSecondFactor()), orymfatest.AAL2)
	now := time.Now()
	srv.SetFactorTimes(token, now.Add(-10*time.Minute), now.Add(-10*time.Minute))
	// The machine's wall clock is an hour behind at start (before NTP's first sync).
	clk := &wallClock{base: now, step: -time.Hour}
	v := newVerifier(t, srv.URL, core.Config{Now: clk.Now, Cache: core.CacheConfig{TTL: 10 * time.Second}})
	fresh := core.MustGuard(core.RequireAAL2, core.WithVerifier(v), core.WithMaxAge(5*time.Minute))
	session := core.MustGuard(core.RequireSession, core.WithVerifier(v))
	check := func(g *core.Guard, want core.Outcome, wantCalls int, what string) {
		t.Helper()
		if d := g.Check(ctx(t), apiRequest(token)); d.Outcome != want || srv.Calls() != wantCalls {
			t.Fatalf("%s: %v after %d whoami calls, want %v after %d (%v)", what, d.Outcome, srv.Calls(), want, wantCalls, d.Err)
		}
	}
	check(session, core.Allow, 1, "first request")
	// NTP steps the clock forward to the right time: by Ory's clock the second factor is 10
	// minutes old, more than the route's 5.
	clk.Step(time.Hour)
	check(fresh, core.Refresh, 2, "after a step forward, a factor older than WithMaxAge")
	// The cache's TTL: a step back does not extend it ...
	clk.Step(-time.Hour)
	clk.Advance(11 * time.Second)
	check(session, core.Allow, 3, "11 s later (TTL 10 s) after a step back")
	// ... nor does a step forward cut it short.
	clk.Step(time.Hour)
	clk.Advance(5 * time.Second)
	check(session, core.Allow, 3, "5 s later (TTL 10 s) after a step forward")
}
