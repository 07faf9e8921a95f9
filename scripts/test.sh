#!/usr/bin/env bash
# test.sh runs every test of every module with -race, against a real Ory Kratos v1.3.1 built
# from Go modules by scripts/build-kratos.sh (cached after the first build) and, for the demo's
# browser test, Debian's Chromium (installed by scripts/install-chromium.sh when missing).
# It also checks gofmt, go vet and go mod tidy in each module.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every module: the library's (root: core, nethttp, orymfatest; the adapters; otel; the gRPC
# and Connect interceptors), the test-only one with the Kratos conformance table (internal),
# the examples and demo, the benchmarks.
MODULES=(. chi gin echo echo/v5 fiber fiber/v3 otel grpc connect internal examples benchmarks)

# Each module is tested on its own (GOWORK=off), as its users get it through its go.mod and
# replace lines, and read-only: a -mod=mod inherited from the environment would be refused in
# workspace mode and would otherwise quietly repair a go.sum that should fail.
export GOWORK=off
GOFLAGS="$(printf '%s\n' ${GOFLAGS:-} | grep -v '^-mod=' | tr '\n' ' ' || true)"
export GOFLAGS

start=$(date +%s)
ORYMFA_KRATOS_BIN="$(scripts/build-kratos.sh)"
export ORYMFA_KRATOS_BIN
scripts/install-chromium.sh

fail=0
unformatted=$(gofmt -l . | grep -v '^benchmarks/.*testdata' || true)
if [[ -n "$unformatted" ]]; then
  echo "test.sh: gofmt needed in: $unformatted" >&2
  fail=1
fi
n=0
for mod in "${MODULES[@]}"; do
  [[ -f "$mod/go.mod" ]] || continue
  n=$((n + 1))
  echo "== module $mod ($n of ${#MODULES[@]}, $(( $(date +%s) - start ))s so far)"
  if ! (cd "$mod" && go mod tidy -diff >/dev/null); then
    echo "test.sh: go mod tidy needed in $mod" >&2
    fail=1
  fi
  (cd "$mod" && go vet ./...) || fail=1
  (cd "$mod" && go test -race -count=1 -timeout 10m ./...) || fail=1
done
echo "test.sh: finished in $(( $(date +%s) - start ))s"
exit $fail
