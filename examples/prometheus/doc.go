// Command prometheus is an app protected by orymfa whose metrics Prometheus scrapes at
// /metrics, through OpenTelemetry's Prometheus exporter: decisions by outcome, whoami
// latency, cache lookups and whoami calls in flight (see the orymfaotel package for the
// names).
//
//	ORY_SDK_URL=http://127.0.0.1:4433 go run ./prometheus   # in examples/
//	curl -H "X-Session-Token: $TOKEN" 127.0.0.1:8080/transfer
//	curl -s 127.0.0.1:8080/metrics | grep '^orymfa_'
package main
