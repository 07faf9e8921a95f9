#!/usr/bin/env bash
# build-anchors.sh builds the proxies BenchmarkAnchors (benchmarks/anchors_test.go) compares
# orymfa with from Go modules into the cache build-kratos.sh uses, and prints each binary's path,
# one per line, in the order asked (default: oathkeeper, then heimdall). A cached binary is
# reused; the benchmark runs this script itself.
#
#   scripts/build-anchors.sh                    # both
#   scripts/build-anchors.sh heimdall           # only Heimdall
#
# Like Kratos, each one is built from its published module (no source checkout): a tiny main
# package calls the project's cmd.Execute(), and its go.mod copies the project's own replace
# lines. The build modules live in the cache, never in go.work, so the proxies' dependency
# versions never reach our modules. Only the Go module proxy is needed (exact versions: the
# proxy here does not serve @latest).
#
#   Oathkeeper v0.40.9: one replace line (mattn/go-sqlite3 => v1.14.10); about 1.5 min.
#   Heimdall v0.17.18:  one replace line (aws-sdk-go-v2/service/s3 v1.95.1 => v1.97.3); about 3 min.
set -euo pipefail

OATHKEEPER_VERSION="${OATHKEEPER_VERSION:-v0.40.9}"
HEIMDALL_VERSION="${HEIMDALL_VERSION:-v0.17.18}"
CACHE_DIR="${ORYMFA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/orymfa}"

# build NAME VERSION MODULE GO_VERSION LDFLAGS_X REPLACE...: builds MODULE/cmd.Execute as
# $CACHE_DIR/bin/NAME-VERSION unless it is there already, and prints the path.
build() {
  local name="$1" version="$2" module="$3" goversion="$4" xflag="$5"
  shift 5
  local bin="$CACHE_DIR/bin/$name-$version"
  local dir="$CACHE_DIR/$name-build-$version"
  if [[ -x "$bin" ]]; then
    echo "$bin"
    return 0
  fi
  command -v go >/dev/null || { echo "build-anchors: go is not on PATH" >&2; exit 1; }
  mkdir -p "$dir" "$(dirname "$bin")"
  (
    cd "$dir"
    cat > main.go <<GO
// Command $name is $module $version built from its Go module for orymfa's benchmarks.
package main

import "$module/cmd"

func main() { cmd.Execute() }
GO
    {
      echo "module orymfa.local/$name"
      echo
      echo "go $goversion"
      echo
      echo "require $module $version"
      if (($# > 0)); then
        echo
        echo "replace ("
        printf '\t%s\n' "$@"
        echo ")"
      fi
    } > go.mod
    rm -f go.sum
    echo "build-anchors: building $module $version from Go modules (a few minutes the first time)" >&2
    export GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0
    # go get resolves the project's own requirements (not tidy: tidy would also look up the
    # latest versions of packages only its dependencies' tests import).
    go get "$module@$version" >&2
    go build -trimpath -ldflags "-s -w -X $xflag=$version" -o "$bin.tmp" . >&2
    mv "$bin.tmp" "$bin"
  )
  echo "$bin"
}

names=("$@")
((${#names[@]} > 0)) || names=(oathkeeper heimdall)
for n in "${names[@]}"; do
  case "$n" in
    oathkeeper)
      build oathkeeper "$OATHKEEPER_VERSION" github.com/ory/oathkeeper 1.22 \
        github.com/ory/oathkeeper/x.Version \
        'github.com/mattn/go-sqlite3 => github.com/mattn/go-sqlite3 v1.14.10'
      ;;
    heimdall)
      build heimdall "$HEIMDALL_VERSION" github.com/dadrus/heimdall 1.26.5 \
        github.com/dadrus/heimdall/version.Version \
        'github.com/aws/aws-sdk-go-v2/service/s3 v1.95.1 => github.com/aws/aws-sdk-go-v2/service/s3 v1.97.3'
      ;;
    *)
      echo "build-anchors: unknown anchor \"$n\" (known: oathkeeper, heimdall)" >&2
      exit 2
      ;;
  esac
done
