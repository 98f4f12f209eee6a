#!/usr/bin/env bash
# govulncheck against an offline vulnerability database built from the
# golang.org/x/vulndb module (the module proxy is the only registry reachable).
# Fails on every reachable finding except those listed in ACCEPTED (see SECURITY.md).
set -euo pipefail
cd "$(dirname "$0")/.."
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018
GOVULNCHECK_VERSION=v1.9.0
# The release toolchain (see SECURITY.md): its standard library has the fixes
# that go1.26.8's lacks. It is fetched from the module proxy on first use.
export GOTOOLCHAIN="${RELEASE_GOTOOLCHAIN:-go1.27.3}"
# Echo v4 advisories with no v4 fix; not reachable here (see SECURITY.md).
ACCEPTED="GO-2026-6872 GO-2026-6875"

cache="${XDG_CACHE_HOME:-$HOME/.cache}/secureapi/vulndb-$VULNDB_VERSION"
if [ ! -f "$cache/index/db.json" ] && [ ! -f "$cache/index.json" ] && [ ! -d "$cache/ID" ]; then
  moddir="$(GOFLAGS=-mod=mod go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  mkdir -p "$cache"
  go run "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION" -vulns "$moddir/data/osv" -out "$cache"
fi

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
set +e
go run "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION" -db "file://$cache" -format json ./... >"$out"
rc=$?
set -e
# JSON output exits 0 whether or not it finds anything; any other status means it did not run.
if [ "$rc" -ne 0 ]; then
  echo "govulncheck failed (exit $rc)" >&2
  exit "$rc"
fi
# Findings with a call trace into a vulnerable symbol are reachable.
python3 - "$out" "$ACCEPTED" <<'PY'
import json, sys
accepted = set(sys.argv[2].split())
dec = json.JSONDecoder()
data = open(sys.argv[1]).read()
i, reach, seen = 0, {}, set()
while i < len(data):
    while i < len(data) and data[i].isspace():
        i += 1
    if i >= len(data):
        break
    obj, i = dec.raw_decode(data, i)
    f = obj.get("finding")
    if not f:
        continue
    osv = f["osv"]
    seen.add(osv)
    trace = f.get("trace") or []
    if trace and trace[0].get("function"):
        reach.setdefault(osv, trace[0].get("module", "?"))
print("govulncheck: %d advisories affect required modules; %d reachable" % (len(seen), len(reach)))
for osv in sorted(seen - set(reach)):
    print("  not reachable:", osv)
bad = 0
for osv, mod in sorted(reach.items()):
    if osv in accepted:
        print("  reachable, accepted (SECURITY.md):", osv, mod)
    else:
        print("  REACHABLE:", osv, mod)
        bad += 1
sys.exit(1 if bad else 0)
PY
