// Package wait is the core's tests' one way to wait for something other goroutines of the
// test make happen: [For] polls a condition, yielding the processor in between, so that a
// test never sleeps a fixed time and passes on a loaded machine.
package wait
