#!/usr/bin/env bash
# run.sh: the mutation audit of RELIABILITY.md. Clones the repository's HEAD into a temporary
# directory, applies each mutant of mutants.py alone, runs the tests of every module in turn
# (without -race, real Kratos included) until one fails, restores the file, and prints one line
# per mutant: killed-by:MODULE or SURVIVED; exits 1 if one survived. About 5 minutes on 2 cores
# when every mutant dies in the root module's tests; a survivor runs every module (several minutes).
#
#   scripts/mutation/run.sh            # every mutant
#   scripts/mutation/run.sh 7 24       # only these
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone -q "$root" "$work/repo"
cd "$work/repo"
export ORYMFA_KRATOS_BIN="${ORYMFA_KRATOS_BIN:-$("$root/scripts/build-kratos.sh")}" GOWORK=off
# Every module: the fast ones first (a mutant of an adapter dies in its own module), the slow
# ones last (internal with the real-Kratos conformance table, examples, benchmarks), then any
# module of go.work not named here (grpc, connect, ...), so a new module is audited too.
modules=(. chi gin echo echo/v5 fiber fiber/v3 otel internal examples benchmarks)
while read -r m; do
  [[ " ${modules[*]} " == *" $m "* ]] || modules+=("$m")
done < <(go work edit -json go.work | python3 -c 'import json, sys; [print(u["DiskPath"].removeprefix("./")) for u in json.load(sys.stdin)["Use"]]')
n=$(python3 -c "import sys; sys.path.insert(0, '$here'); from mutants import M; print(len(M))")
ids=("$@")
[[ ${#ids[@]} -gt 0 ]] || ids=($(seq 0 $((n - 1))))
survived=0
for i in "${ids[@]}"; do
  read -r file what < <(python3 - "$here" "$i" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from mutants import M
f, old, new, what = M[int(sys.argv[2])]
s = open(f).read()
if old not in s:
    print(f, "NOT-APPLIED: " + what)
else:
    open(f + ".orig", "w").write(s)
    open(f, "w").write(s.replace(old, new, 1))
    print(f, what)
PY
)
  if [[ "$what" == NOT-APPLIED* ]]; then echo "$i $file $what"; survived=1; continue; fi
  killed=""
  for mod in "${modules[@]}"; do
    [[ -f "$mod/go.mod" ]] || continue
    if ! (cd "$mod" && timeout 900 go test -count=1 ./... >"$work/out.$i" 2>&1); then killed="$mod"; break; fi
  done
  mv "$file.orig" "$file"
  if [[ -n "$killed" ]]; then echo "$i killed-by:$killed $file :: $what"; else echo "$i SURVIVED $file :: $what"; survived=1; fi
done
exit $survived
