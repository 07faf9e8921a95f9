// Package typesafe holds a test that builds small programs against the adapters and expects
// the compiler to refuse one adapter's option passed to another adapter's guard.
package typesafe
