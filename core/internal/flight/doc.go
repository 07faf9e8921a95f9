// Package flight coalesces concurrent calls with the same key into one (with
// golang.org/x/sync/singleflight), with two rules singleflight alone does not give:
//
//   - the shared call belongs to all its callers: one caller giving up does not fail the
//     others, and once the last one has gone the call's context is cancelled, so callers that
//     gave up leave nothing running;
//   - a panic in the call is recovered inside it and becomes an error for its callers;
//     singleflight.Group.DoChan would re-raise it in a goroutine of its own, where no server
//     can recover it, and the whole process would die.
package flight
