package main

import (
	"runtime"
	"time"
)

// sample is the process's resources at one moment of the soak.
type sample struct {
	At         time.Duration // since the traffic started
	HeapAlloc  uint64        // live heap after a GC, bytes
	HeapObjs   uint64        // live heap objects after a GC
	Goroutines int
	FDs        int // open file descriptors (-1: unknown on this OS)
	Sockets    int // of which sockets (-1: unknown)
	OryConns   int // established TCP connections of this process to Kratos's public port (-1: unknown)
	TimeWait   int // TIME_WAIT sockets to or from Kratos's public port, any process (-1: unknown)
}

// takeSample measures the process now; oryPort is Kratos's public port.
func takeSample(at time.Duration, oryPort int) sample {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := sample{At: at, HeapAlloc: ms.HeapAlloc, HeapObjs: ms.HeapObjects, Goroutines: runtime.NumGoroutine()}
	s.FDs, s.Sockets, s.OryConns, s.TimeWait = openFiles(oryPort)
	return s
}
