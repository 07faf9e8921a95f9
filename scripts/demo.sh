#!/usr/bin/env bash
# demo.sh runs an orymfa example with Ory Kratos, a login UI and a dev mailbox, for a person
# to click through: sign up, open a protected page, step up with a one-time code.
#
#   scripts/demo.sh [nethttp|chi|gin|echo|fiber] [demo flags]
#
# It builds Kratos v1.3.1 from Go modules the first time (scripts/build-kratos.sh, cached),
# builds the demo and the example, and serves them at http://127.0.0.1:4455. Ctrl-C stops
# everything. Flags after the framework go to the demo (e.g. -addr 127.0.0.1:5555).
set -euo pipefail

framework="${1:-nethttp}"
case "$framework" in
  nethttp|chi|gin|echo|fiber) ;;
  -h|--help|help)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 0 ;;
  *)
    echo "demo: unknown framework '$framework': pick one of nethttp, chi, gin, echo, fiber" >&2
    exit 2 ;;
esac
shift || true

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command -v go >/dev/null || { echo "demo: Go is not installed (or not on PATH): https://go.dev/dl/" >&2; exit 1; }

if ! kratos="$(bash "$root/scripts/build-kratos.sh")"; then
  echo "demo: building Ory Kratos failed (see the output above). The build needs Go, gcc (Kratos's sqlite driver uses cgo) and access to the Go module proxy." >&2
  exit 1
fi

bin="${ORYMFA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/orymfa}/demo-$framework"
mkdir -p "$bin"
cd "$root/examples"
# The examples module stands alone (replace lines to the library); build it read-only.
export GOWORK=off
GOFLAGS="$(printf '%s\n' ${GOFLAGS:-} | grep -v '^-mod=' | tr '\n' ' ' || true)"
export GOFLAGS
echo "demo: building the demo and the $framework example…" >&2
go build -o "$bin/" ./demo "./$framework"
exec "$bin/demo" -framework "$framework" -kratos "$kratos" -app "$bin/$framework" "$@"
