// Package fakeory is a fake Ory whoami endpoint for fast unit tests and in-process benchmarks,
// and for what a real Kratos cannot be made to do: time out, fail with 5xx, send malformed or
// lying answers. Behaviour that Kratos can show is tested against Kratos (internal/kratostest).
package fakeory
