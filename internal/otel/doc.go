// Package oteltests tests the otel module's observer (github.com/orymfa/orymfa/otel) through
// the adapters of the registry of frameworks (internal/conformance.Adapters: the request
// sequence through all seven, the rest through net/http), against a real Ory Kratos and the
// test kit: spans, their parents and attributes, metric values after a known sequence of
// requests, and the logs. The tests live in this test-only module so that the otel module's
// own go.mod needs neither the frameworks nor the Kratos test bed.
package oteltests
