package wait

import (
	"runtime"
	"testing"
	"time"
)

// Patience is how long [For] waits before it fails the test: long enough for a loaded
// machine, short enough that a hang is reported before the test binary's own timeout.
const Patience = 20 * time.Second

// For polls cond, yielding the processor in between, until it holds; it fails the test,
// naming what it waited for, if cond does not hold within [Patience].
func For(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(Patience); !cond(); runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}
