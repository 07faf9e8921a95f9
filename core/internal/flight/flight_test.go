package flight

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orymfa/orymfa/core/internal/wait"
)

// waitersOf reports how many callers wait on the shared call for key (0 when none runs).
func (g *Group[T]) waitersOf(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c := g.calls[key]; c != nil {
		return c.waiters
	}
	return 0
}

var errCall = errors.New("the call failed")

// A shared call whose callers all leave is cancelled: 1,000 requests that gave up must not
// leave 1,000 calls running.
func TestSharedCallEndsWithItsLastWaiter(t *testing.T) {
	var g Group[int]
	started, ended := make(chan struct{}), make(chan error, 1)
	ctx1, cancel1 := context.WithCancel(context.Background())
	ctx2, cancel2 := context.WithCancel(context.Background())
	fn := func(ctx context.Context, _ func() int) (int, error) {
		close(started)
		<-ctx.Done() // a call that only ends when cancelled
		ended <- ctx.Err()
		return 0, errCall
	}
	var wg sync.WaitGroup
	for _, ctx := range []context.Context{ctx1, ctx2} {
		wg.Go(func() {
			if _, err := g.Do(ctx, "k", fn); !errors.Is(err, context.Canceled) || !errors.Is(err, ErrLeft) {
				t.Errorf("a caller that left got %v, want its own cancellation", err)
			}
		})
	}
	<-started
	wait.For(t, "both callers to join", func() bool { return g.waitersOf("k") == 2 })
	cancel1()
	wait.For(t, "the first caller to leave", func() bool { return g.waitersOf("k") == 1 })
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
	case <-time.After(wait.Patience):
		t.Fatal("the shared call still runs after its last waiter left")
	}
	wg.Wait()
}

// One caller leaving does not fail the others; they all get the one call's result.
func TestSharedCallSurvivesACallerLeaving(t *testing.T) {
	var g Group[*int]
	var calls atomic.Int64
	release := make(chan struct{})
	want := new(int)
	fn := func(ctx context.Context, waiters func() int) (*int, error) {
		calls.Add(1)
		<-release
		return want, nil
	}
	leaving, cancel := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() { _, err := g.Do(leaving, "k", fn); left <- err }()
	wait.For(t, "the first caller", func() bool { return g.waitersOf("k") == 1 })
	got := make(chan *int, 3)
	for range 3 {
		go func() { v, _ := g.Do(context.Background(), "k", fn); got <- v }()
	}
	wait.For(t, "four callers", func() bool { return g.waitersOf("k") == 4 })
	cancel()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Fatalf("leaving caller: %v", err)
	}
	close(release)
	for range 3 {
		if v := <-got; v != want {
			t.Fatal("a remaining caller did not get the shared result")
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
}

// A panic in the shared call (a user's RoundTripper, say) fails its callers with the error
// Recovered makes of it, once per call, with the call's context; without Recovered, with a
// PanicError. singleflight.Group.DoChan alone would re-raise it where nothing can recover it.
func TestSharedCallRecoversPanics(t *testing.T) {
	type key struct{}
	var reported atomic.Int64
	g := Group[int]{Recovered: func(ctx context.Context, p any) error {
		if ctx.Value(key{}) != "caller's value" || p != "instrumentation bug" {
			t.Errorf("Recovered got the context value %v and the panic %v", ctx.Value(key{}), p)
		}
		reported.Add(1)
		return errCall
	}}
	ctx := context.WithValue(context.Background(), key{}, "caller's value")
	for range 3 {
		_, err := g.Do(ctx, "k", func(context.Context, func() int) (int, error) {
			panic("instrumentation bug")
		})
		if err != errCall {
			t.Fatalf("panic became %v, want Recovered's error", err)
		}
	}
	if n := reported.Load(); n != 3 {
		t.Fatalf("reported %d panics, want 3", n)
	}
	var bare Group[int]
	_, err := bare.Do(ctx, "k", func(context.Context, func() int) (int, error) { panic("bug") })
	if pe, ok := errors.AsType[*PanicError](err); !ok || pe.Value != "bug" {
		t.Fatalf("without Recovered a panic became %v, want a PanicError", err)
	}
}

// A caller that joins a call just abandoned by its last waiter starts a new one instead of
// failing with the old one's cancellation.
func TestAbandonedCallIsRetried(t *testing.T) {
	var g Group[int]
	var calls atomic.Int64
	firstStarted, firstMayEnd := make(chan struct{}), make(chan struct{})
	fn := func(ctx context.Context, _ func() int) (int, error) {
		if calls.Add(1) == 1 {
			close(firstStarted)
			select {
			case <-ctx.Done():
			case <-time.After(wait.Patience):
				t.Error("the abandoned call was not cancelled")
			}
			<-firstMayEnd // still in flight after its last waiter left
			return 0, errCall
		}
		return 1, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	go g.Do(ctx, "k", fn)
	<-firstStarted
	cancel()
	wait.For(t, "the first caller to leave", func() bool { return g.waitersOf("k") == 0 })
	done := make(chan error, 1)
	go func() { _, err := g.Do(context.Background(), "k", fn); done <- err }()
	wait.For(t, "the late caller to join", func() bool { return g.waitersOf("k") == 1 })
	close(firstMayEnd)
	if err := <-done; err != nil {
		t.Fatalf("the late caller failed: %v", err)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}
}

// The call knows how many callers share it.
func TestSharedCallCountsItsWaiters(t *testing.T) {
	var g Group[int]
	release := make(chan struct{})
	seen := make(chan int, 1)
	fn := func(_ context.Context, waiters func() int) (int, error) {
		<-release
		seen <- waiters()
		return 0, nil
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { g.Do(context.Background(), "k", fn) })
	}
	wait.For(t, "three callers", func() bool { return g.waitersOf("k") == 3 })
	close(release)
	wg.Wait()
	if n := <-seen; n != 3 {
		t.Fatalf("the call counted %d waiters, want 3", n)
	}
}
