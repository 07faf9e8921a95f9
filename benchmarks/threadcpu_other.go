//go:build !linux

package main

import "time"

var wallStart = time.Now()

// threadCPU falls back to the wall clock where the thread's CPU time is not read.
func threadCPU() time.Duration { return time.Since(wallStart) }

// threadCPUMeasured reports whether threadCPU is the thread's CPU time (not the wall clock).
const threadCPUMeasured = false
