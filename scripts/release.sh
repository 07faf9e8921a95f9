#!/usr/bin/env bash
# release.sh checks that every publishable module installs with go get at VERSION and prints
# the git tags that publish it, in order, with the commands to create and push them.
# docs/RELEASING.md describes the procedure.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
usage: scripts/release.sh VERSION [--tag | --push [REMOTE]]

  VERSION       the root module's version, v0.MINOR.PATCH[-PRERELEASE], e.g. v0.2.0
  --tag         also create the tags locally (annotated, on HEAD); needs a clean work tree
  --push REMOTE also push them (default remote: origin); implies --tag

Without --tag or --push it changes nothing and talks to no server but the Go module proxy
(for modules missing from the module cache). It checks:
  - every publishable module (the root and each adapter: every module but internal/,
    examples/, benchmarks/) requires the other orymfa modules at their release versions,
    replaces them only with their local directories (for development), excludes nothing,
    and requires nothing that only its tests need (internal/install TestModuleGraph);
  - go mod tidy -diff, go vet ./... and go build ./... in each, with GOWORK=off;
  - the install proof (internal/install TestModulesInstall): HEAD (or the work tree, when it is
    not clean) published into a file-based module proxy; each module built with its replace
    lines dropped against it; the tags below resolving to the same bytes; and in an empty
    module outside the repository, go get of each module and the README's quick starts built
    unchanged.
Then it prints the tags. Modules with a major-version suffix take the root's version with the
major put in place of its 0: v0.2.0 -> echo/v5 v5.2.0 (tag echo/v5.2.0), fiber/v3 v3.2.0.
EOF
}

version=""
tag=0
push=0
remote=origin
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --tag) tag=1 ;;
    --push)
      tag=1; push=1
      if [[ $# -gt 1 && "$2" != -* ]]; then remote="$2"; shift; fi ;;
    -*) echo "release.sh: unknown flag $1" >&2; usage >&2; exit 2 ;;
    *)
      if [[ -n "$version" ]]; then echo "release.sh: one VERSION only" >&2; exit 2; fi
      version="$1" ;;
  esac
  shift
done
if [[ -z "$version" ]]; then usage >&2; exit 2; fi
if [[ ! "$version" =~ ^v0\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$ ]]; then
  echo "release.sh: VERSION must be v0.MINOR.PATCH[-PRERELEASE] (got $version): the mapping to the" >&2
  echo "  major-suffixed modules (echo/v5, fiber/v3) is defined for v0 only; see docs/RELEASING.md" >&2
  exit 2
fi
if [[ "$version" == v0.0.0 ]]; then
  echo "release.sh: v0.0.0 is the placeholder a release replaces" >&2
  exit 2
fi

# Each module on its own, as its users get it, and read-only whatever GOFLAGS=-mod says (as in
# scripts/test.sh); no toolchain download.
export GOWORK=off GOTOOLCHAIN=local
GOFLAGS="$(printf '%s\n' ${GOFLAGS:-} | grep -v -e '^-mod=' -e '^-modfile=' | tr '\n' ' ' || true)"
export GOFLAGS

head=$(git rev-parse --verify HEAD)
rev=HEAD
if [[ -n "$(git status --porcelain)" ]]; then
  if [[ $tag == 1 ]]; then
    echo "release.sh: the work tree is not clean; commit first (the tags point at HEAD)" >&2
    git status --short >&2
    exit 1
  fi
  echo "release.sh: note: the work tree is not clean: the checks run on the work tree, the tags would point at HEAD" >&2
  rev=""
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
plan="$tmp/plan"
start=$(date +%s)
fail=0

echo "== module graph (internal/install TestModuleGraph)"
if ! (cd internal && ORYMFA_RELEASE_VERSION="$version" ORYMFA_RELEASE_PLAN="$plan" \
      go test -count=1 -run '^(TestVersionMapping|TestModuleGraph)$' ./install); then
  echo "release.sh: the module graph is not releasable at $version" >&2
  exit 1
fi

# plan: name, module path, version, tag; the root first.
while IFS=$'\t' read -r name path modversion modtag; do
  dir=.
  [[ "$name" == root ]] || dir="$name"
  echo "== $path ($dir)"
  if ! (cd "$dir" && go mod tidy -diff); then
    echo "release.sh: go mod tidy needed in $dir" >&2
    fail=1
  fi
  (cd "$dir" && go vet ./...) || fail=1
  (cd "$dir" && go build ./...) || fail=1
  if git rev-parse -q --verify "refs/tags/$modtag" >/dev/null; then
    if [[ "$(git rev-parse "refs/tags/$modtag^{commit}")" != "$head" ]]; then
      echo "release.sh: tag $modtag exists and points elsewhere: a published version never changes; pick a new VERSION" >&2
      fail=1
    fi
  fi
done <"$plan"
if [[ $fail != 0 ]]; then
  echo "release.sh: fix the above before tagging" >&2
  exit 1
fi

echo "== install proof (internal/install TestModulesInstall), from ${rev:-the work tree}"
if ! (cd internal && ORYMFA_RELEASE_VERSION="$version" ORYMFA_RELEASE_REV="$rev" \
      go test -count=1 -timeout 20m -run '^TestModulesInstall$' ./install); then
  echo "release.sh: the modules do not install at $version" >&2
  exit 1
fi
echo "release.sh: checks passed in $(( $(date +%s) - start ))s"

tags=()
echo
echo "Tags for orymfa $version, in order (the root first), on $(git log -1 --format='%h %s' HEAD):"
while IFS=$'\t' read -r name path modversion modtag; do
  note=""
  [[ "$modversion" == "$version" ]] || note="  (major-suffixed module: $version -> $modversion)"
  printf '  %-22s %s %s%s\n' "$modtag" "$path" "$modversion" "$note"
  tags+=("$modtag")
done <"$plan"

echo
echo "Commands:"
while IFS=$'\t' read -r name path modversion modtag; do
  printf "  git tag -a %s -m '%s' %s\n" "$modtag" "$path $modversion" "$head"
done <"$plan"
echo "  git push --atomic $remote ${tags[*]}"
echo
echo "Then, for users: go get github.com/orymfa/orymfa/gin@latest (and so on) resolves through"
echo "the public module proxy, which fetches the tags on first request."

if [[ $tag == 1 ]]; then
  while IFS=$'\t' read -r name path modversion modtag; do
    if git rev-parse -q --verify "refs/tags/$modtag" >/dev/null; then
      echo "release.sh: tag $modtag already on HEAD"
    else
      git tag -a "$modtag" -m "$path $modversion" "$head"
      echo "release.sh: tagged $modtag"
    fi
  done <"$plan"
fi
if [[ $push == 1 ]]; then
  git push --atomic "$remote" "${tags[@]}"
fi
