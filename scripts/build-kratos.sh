#!/usr/bin/env bash
# build-kratos.sh builds Ory Kratos from Go modules into a cache outside the work tree and prints
# the binary's path. A binary already in the cache is reused.
#
# Kratos is built from its published module (no source checkout): a tiny main package calls
# github.com/ory/kratos/cmd.Execute(). Its go.mod carries Kratos's own replace lines except
# client-go => ./internal/client-go (a directory the module zip does not ship), and the build
# uses -tags sqlite so `dsn: memory` works. The build module lives in the cache, never in go.work,
# so Kratos's older dependency versions never reach our modules.
set -euo pipefail

KRATOS_VERSION="${KRATOS_VERSION:-v1.3.1}"
CACHE_DIR="${ORYMFA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/orymfa}"
BUILD_DIR="$CACHE_DIR/kratos-build-$KRATOS_VERSION"
BIN="$CACHE_DIR/bin/kratos-$KRATOS_VERSION"

if [[ -x "$BIN" ]]; then
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || { echo "build-kratos: go is not on PATH" >&2; exit 1; }
command -v gcc >/dev/null || { echo "build-kratos: gcc is needed (Kratos's sqlite driver uses cgo)" >&2; exit 1; }

mkdir -p "$BUILD_DIR" "$(dirname "$BIN")"
cd "$BUILD_DIR"

cat > main.go <<'GO'
// Command kratos is Ory Kratos built from its Go module for orymfa's tests and demo.
package main

import "github.com/ory/kratos/cmd"

func main() { cmd.Execute() }
GO

cat > go.mod <<GOMOD
module orymfa.local/kratos

go 1.23

require github.com/ory/kratos $KRATOS_VERSION

replace (
	github.com/go-swagger/go-swagger => github.com/aeneasr/go-swagger v0.19.1-0.20241013070044-bccef3a12e26
	github.com/gobuffalo/pop/v6 => github.com/ory/pop/v6 v6.2.0
	github.com/gorilla/sessions => github.com/ory/sessions v1.2.2-0.20220110165800-b09c17334dc2
	github.com/mattn/go-sqlite3 => github.com/mattn/go-sqlite3 v1.14.22
)
GOMOD

echo "build-kratos: building Ory Kratos $KRATOS_VERSION from Go modules (a few minutes the first time)" >&2
export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=1
go mod tidy >&2
go build -tags sqlite -trimpath -ldflags "-s -w -X github.com/ory/kratos/driver/config.Version=$KRATOS_VERSION" -o "$BIN.tmp" . >&2
mv "$BIN.tmp" "$BIN"
echo "$BIN"
