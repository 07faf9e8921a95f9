#!/usr/bin/env bash
# demo.sh runs an orymfa example with Ory Kratos, a login UI and a dev mailbox, for a person
# to click through: sign up, open a protected page, step up with a one-time code.
# `scripts/demo.sh -h` prints the usage below at once, before building anything.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/demo.sh [nethttp|chi|gin|echo|echov5|fiber|fiberv3] [flags]

Runs one orymfa example (default: nethttp) with Ory Kratos (in-memory database), a minimal
login UI and a dev mailbox, all on this machine. Open http://127.0.0.1:4455/transfer, sign
up, and step up with the sign-in code from the mailbox (http://127.0.0.1:4455/ui/mailbox).
The first run builds Kratos v1.3.1 from Go modules (a few minutes; cached). Ctrl-C stops
everything.

Frameworks: nethttp, chi, gin, echo (v4), echov5, fiber (v2), fiberv3

Flags:
  -addr HOST:PORT           the app and the login UI (default 127.0.0.1:4455), on the host
                            of -kratos-public, which Kratos's session cookie is set for
                            (open the demo at that host too: localhost is sent there)
  -kratos-public HOST:PORT  Kratos's public API (default 127.0.0.1:4433)
  -kratos-admin HOST:PORT   Kratos's admin API (default 127.0.0.1:4434)
  -allow-origin ORIGIN      another app Kratos may send browsers back to after sign-in
                            (return_to), e.g. http://127.0.0.1:8080 for your own app run
                            with ORY_SDK_URL=http://127.0.0.1:4433; repeat the flag or
                            separate origins with commas
  -kratos PATH              a prebuilt Kratos binary (skips the build)
  -h, --help                this help

Environment:
  ORYMFA_KRATOS_BIN  a prebuilt Kratos binary, like -kratos
  ORYMFA_CACHE       where Kratos and the demo are built (default ~/.cache/orymfa)
  KRATOS_VERSION     the Kratos to build (default v1.3.1)

Examples:
  scripts/demo.sh gin
  scripts/demo.sh nethttp -addr 127.0.0.1:5555
  scripts/demo.sh chi -allow-origin http://127.0.0.1:8080
USAGE
}

# Help first, wherever -h stands: nothing is built for it.
for arg in "$@"; do
  case "$arg" in
    -h|-help|--help|help) usage; exit 0 ;;
  esac
done

framework=nethttp
if [[ $# -gt 0 && "$1" != -* ]]; then
  framework="$1"
  shift
fi
case "$framework" in
  nethttp|chi|gin|echo|echov5|fiber|fiberv3) ;;
  *)
    echo "demo: unknown framework '$framework': pick one of nethttp, chi, gin, echo, echov5, fiber, fiberv3 (scripts/demo.sh -h)" >&2
    exit 2 ;;
esac

# A Kratos given with -kratos or $ORYMFA_KRATOS_BIN is used as is; otherwise build it.
kratos="${ORYMFA_KRATOS_BIN:-}"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    -kratos|--kratos) kratos="${args[i+1]:-}" ;;
    -kratos=*|--kratos=*) kratos="${args[i]#*=}" ;;
  esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command -v go >/dev/null || { echo "demo: Go is not installed (or not on PATH): https://go.dev/dl/" >&2; exit 1; }

if [[ -z "$kratos" ]] && ! kratos="$(bash "$root/scripts/build-kratos.sh")"; then
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
