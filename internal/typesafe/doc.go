// Package typesafe holds tests of the adapters' public surface: one adapter's option passed
// to another adapter's guard does not compile (checked by building small programs against the
// adapters), and every adapter re-exports the same names of package core from the same file.
package typesafe
