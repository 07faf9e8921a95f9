package core

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func noReport(context.Context, error) {}

// waiters reports how many callers wait on the shared call for key (0 when none runs).
func (c *sharedCalls) waitersOf(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if call := c.waiting[key]; call != nil {
		return call.waiters
	}
	return 0
}

// waitFor polls cond, yielding the processor, until it holds or the test times out: the
// callers under test are goroutines of this process, not servers.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

// A shared call whose waiters all leave is cancelled: 1,000 requests that gave up must not
// leave 1,000 whoami calls running at Ory.
func TestSharedCallEndsWithItsLastWaiter(t *testing.T) {
	var c sharedCalls
	started, ended := make(chan struct{}), make(chan error, 1)
	ctx1, cancel1 := context.WithCancel(context.Background())
	ctx2, cancel2 := context.WithCancel(context.Background())
	fn := func(ctx context.Context, _ func() int) (*grant, bool, error) {
		close(started)
		<-ctx.Done() // a whoami call that only ends when cancelled
		ended <- ctx.Err()
		return nil, false, &UnavailableError{Status: 503, Err: ctx.Err()}
	}
	var wg sync.WaitGroup
	for _, ctx := range []context.Context{ctx1, ctx2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := c.do(ctx, "k", noReport, fn); !errors.Is(err, context.Canceled) {
				t.Errorf("a caller that left got %v, want its own cancellation", err)
			}
		}()
	}
	<-started
	waitFor(t, "both callers to join", func() bool { return c.waitersOf("k") == 2 })
	cancel1()
	waitFor(t, "the first caller to leave", func() bool { return c.waitersOf("k") == 1 })
	select {
	case err := <-ended:
		t.Fatalf("the shared call ended (%v) while a caller still waited", err)
	default:
	}
	cancel2()
	select {
	case err := <-ended:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("shared call ended with %v, want cancelled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the shared call still runs after its last waiter left")
	}
	wg.Wait()
}

// One caller leaving does not fail the others; they all get the one call's result.
func TestSharedCallSurvivesACallerLeaving(t *testing.T) {
	var c sharedCalls
	var calls atomic.Int64
	release := make(chan struct{})
	want := &grant{}
	fn := func(ctx context.Context, waiters func() int) (*grant, bool, error) {
		calls.Add(1)
		<-release
		return want, false, nil
	}
	leaving, cancel := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() { _, _, err := c.do(leaving, "k", noReport, fn); left <- err }()
	waitFor(t, "the first caller", func() bool { return c.waitersOf("k") == 1 })
	got := make(chan *grant, 3)
	for range 3 {
		go func() { g, _, _ := c.do(context.Background(), "k", noReport, fn); got <- g }()
	}
	waitFor(t, "four callers", func() bool { return c.waitersOf("k") == 4 })
	cancel()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Fatalf("leaving caller: %v", err)
	}
	close(release)
	for range 3 {
		if g := <-got; g != want {
			t.Fatal("a remaining caller did not get the shared result")
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
}

// A panic in the shared call (a user's RoundTripper, say) fails its callers closed and is
// reported; singleflight.DoChan alone would re-raise it where nothing can recover it.
func TestSharedCallRecoversPanics(t *testing.T) {
	var c sharedCalls
	var reported atomic.Int64
	report := func(context.Context, error) { reported.Add(1) }
	for range 3 {
		_, _, err := c.do(context.Background(), "k", report, func(context.Context, func() int) (*grant, bool, error) {
			panic("instrumentation bug")
		})
		var ue *UnavailableError
		if !errors.As(err, &ue) || ue.Status != 502 {
			t.Fatalf("panic became %v, want a 502 UnavailableError", err)
		}
	}
	if n := reported.Load(); n != 3 {
		t.Fatalf("reported %d panics, want 3", n)
	}
}

// A caller that joins a call just abandoned by its last waiter starts a new one instead of
// failing with the old one's cancellation.
func TestAbandonedCallIsRetried(t *testing.T) {
	var c sharedCalls
	var calls atomic.Int64
	firstStarted, firstMayEnd := make(chan struct{}), make(chan struct{})
	fn := func(ctx context.Context, _ func() int) (*grant, bool, error) {
		if calls.Add(1) == 1 {
			close(firstStarted)
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
				t.Error("the abandoned call was not cancelled")
			}
			<-firstMayEnd // still in flight after its last waiter left
			return nil, false, &UnavailableError{Status: 503, Err: ctx.Err()}
		}
		return &grant{}, false, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	go c.do(ctx, "k", noReport, fn)
	<-firstStarted
	cancel()
	waitFor(t, "the first caller to leave", func() bool { return c.waitersOf("k") == 0 })
	done := make(chan error, 1)
	go func() { _, _, err := c.do(context.Background(), "k", noReport, fn); done <- err }()
	close(firstMayEnd)
	if err := <-done; err != nil {
		t.Fatalf("the late caller failed: %v", err)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}
}
