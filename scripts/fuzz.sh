#!/usr/bin/env bash
# Runs every fuzz target in the repository (every `func FuzzXxx` in a
# _test.go file) for a short fixed time each: FUZZTIME, 10s by default.
#
#   bash scripts/fuzz.sh                 # all targets, 10 s each
#   FUZZTIME=2m bash scripts/fuzz.sh     # longer
#   bash scripts/fuzz.sh FuzzCursors     # only the targets named
#
# A failing input is written by `go test` to testdata/fuzz/<Target>/ in the
# target's package: once the bug is fixed, commit it as a regression seed.
# The committed seeds there (and each target's f.Add seeds) run on every
# plain `go test` too.
set -uo pipefail
cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-10s}"

targets=()
while IFS= read -r line; do
  file="${line%%:*}"
  name="$(sed -E 's/^.*func (Fuzz[A-Za-z0-9_]*)\(.*/\1/' <<<"${line#*:}")"
  if [ "$#" -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then
    continue
  fi
  targets+=("./$(dirname "$file") $name")
done < <(git ls-files --cached --others --exclude-standard '*_test.go' | xargs grep -H -E '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' | sort)

if [ "${#targets[@]}" -eq 0 ]; then
  echo "no fuzz targets found${*:+ named $*}" >&2
  exit 2
fi

failed=()
flaked=()
start=$(date +%s)
for t in "${targets[@]}"; do
  pkg="${t% *}"
  name="${t#* }"
  log="$(mktemp)"
  corpus="$pkg/testdata/fuzz/$name"
  before="$(ls "$corpus" 2>/dev/null | sort)"
  printf '==> %-28s %s (%s)\n' "$name" "$pkg" "$FUZZTIME"
  if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg" >"$log" 2>&1; then
    grep -E '^fuzz: elapsed' "$log" | tail -n 1
  elif [ "$(ls "$corpus" 2>/dev/null | sort)" = "$before" ] &&
    grep -qx '    context deadline exceeded' "$log" && ! grep -q -- '--- FAIL: .*/' "$log"; then
    # Go 1.26's fuzz coordinator can report its own -fuzztime deadline as a
    # failure when a worker is still busy (golang/go#75804, fixed in Go
    # 1.27). No failing input was written, so nothing failed.
    grep -E '^fuzz: elapsed' "$log" | tail -n 1
    echo "    (the fuzztime deadline raced a busy worker, golang/go#75804; no failing input: not a failure)"
    flaked+=("$name")
  else
    tail -n 30 "$log"
    failed+=("$name")
  fi
  rm -f "$log"
done
echo
echo "${#targets[@]} fuzz target(s), ${FUZZTIME} each, $(( $(date +%s) - start )) s in all${flaked:+; deadline races ignored: ${flaked[*]}}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "FAILED: ${failed[*]} (the failing inputs are under testdata/fuzz/ in their packages)"
  exit 1
fi
