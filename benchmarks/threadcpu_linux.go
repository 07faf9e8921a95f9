package main

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU is the CPU time the calling OS thread has used (CLOCK_THREAD_CPUTIME_ID, in
// nanoseconds): unlike the wall clock it does not run while the thread waits for a core, so
// timings taken with it (on a locked thread) hold up on a machine shared with other work.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// threadCPUMeasured reports whether threadCPU is the thread's CPU time (not the wall clock).
const threadCPUMeasured = true
