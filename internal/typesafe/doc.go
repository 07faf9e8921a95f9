// Package typesafe holds tests of the adapters' public surface: one adapter's option passed
// to another adapter's guard does not compile (checked by building small programs against the
// adapters; chi and net/http share theirs on purpose), and every adapter's exports.go is what
// go generate renders from the one template of internal/exports.
package typesafe
