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
start=$(date +%s)
for t in "${targets[@]}"; do
  pkg="${t% *}"
  name="${t#* }"
  printf '==> %-28s %s (%s)\n' "$name" "$pkg" "$FUZZTIME"
  if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg" >"${TMPDIR:-/tmp}/fuzz-$name.log" 2>&1; then
    tail -n 30 "${TMPDIR:-/tmp}/fuzz-$name.log"
    failed+=("$name")
  else
    grep -E '^fuzz: elapsed' "${TMPDIR:-/tmp}/fuzz-$name.log" | tail -n 1
  fi
  rm -f "${TMPDIR:-/tmp}/fuzz-$name.log"
done
echo
echo "${#targets[@]} fuzz target(s), ${FUZZTIME} each, $(( $(date +%s) - start )) s in all"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "FAILED: ${failed[*]} (the failing inputs are under testdata/fuzz/ in their packages)"
  exit 1
fi
