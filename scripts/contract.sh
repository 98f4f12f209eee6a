#!/usr/bin/env bash
# Contract checks of openapi.yaml against the tools front ends use and the
# real server (issue #9). Exits non-zero on the first failure.
#
#   bash scripts/contract.sh
#
# 1. Spectral with the OWASP API Security ruleset: no errors
#    (tools/contract/spectral.yaml lists every rule switched off and why).
# 2. oasdiff: no breaking change against main (CONTRACT_BASE_REF): on a
#    branch, against the commit where it left main; on main, against its
#    previous commit.
#    Deliberate breaks are listed in tools/contract/oasdiff-ignore.txt.
# 3. A TypeScript program (openapi-typescript types, openapi-fetch, strict
#    tsc) runs a front end's whole session in Node against the real binary,
#    started here on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL
#    (a schema of its own, dropped afterwards), each on a free loopback port.
# 4. The same session through Prism's validating proxy (--errors), which fails
#    on any request or response that breaks the spec. File bytes go straight
#    to the server (the upload, and a second download to compare bytes):
#    Prism re-encodes binary bodies. CONTRACT_PRISM=0 skips this step.
#
# Needs go, node and npm (the npm tools are pinned in tools/contract and
# installed with npm ci), curl, and psql for PostgreSQL. Every step is
# bounded in time; the servers it starts are stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"

step() { printf '\n==> %s\n' "$*"; }
fail() { echo "contract: $*" >&2; exit 1; }

work="$(mktemp -d)"
pids=()
schemas=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  for s in "${schemas[@]}"; do
    psql "$TEST_DATABASE_URL" -qc "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

start=$(date +%s)
bin="$(bash scripts/contract-tools.sh)"
tools="$root/tools/contract"

step "Spectral: OWASP API Security ruleset"
(cd "$tools" && timeout 180 "$bin/spectral" lint "$root/openapi.yaml" --ruleset spectral.yaml \
  --fail-severity error --display-only-failures --format text) || fail "Spectral found errors"
echo "no errors"

step "oasdiff: breaking changes"
ref="${CONTRACT_BASE_REF:-main}"
if ! git rev-parse --verify -q "$ref^{commit}" >/dev/null; then
  echo "no $ref here: comparing with the previous commit"
  ref=HEAD
fi
# What this checkout changes: on a branch, the spec where it left main (main's
# own later changes are not this branch's); on main itself (CI after a merge),
# main's previous commit.
base="$(git merge-base HEAD "$ref")"
if [ "$base" = "$(git rev-parse HEAD)" ]; then
  base="$(git rev-parse -q --verify HEAD^ || true)"
fi
if [ -n "$base" ] && git cat-file -e "$base:openapi.yaml" 2>/dev/null; then
  git show "$base:openapi.yaml" >"$work/base.yaml"
  timeout 600 go tool oasdiff breaking "$work/base.yaml" openapi.yaml --fail-on ERR \
    --err-ignore tools/contract/oasdiff-ignore.txt || fail "breaking changes against $base"
else
  echo "no earlier openapi.yaml to compare with"
fi

step "build the server and the TypeScript client"
timeout 600 go build -o "$work/api" ./cmd/api
(cd "$tools" && timeout 120 node gen-types.mjs "$root/openapi.yaml" flow/api.d.ts \
  && timeout 180 "$bin/tsc" -p flow/tsconfig.json) || fail "the TypeScript client does not build against the spec"
echo "built"

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

wait_http() { # url seconds
  local url="$1" deadline=$(($(date +%s) + $2))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# start_server NAME DATABASE_URL ALLOWED_ORIGIN: starts the binary, sets $server_url.
start_server() {
  local name="$1" dburl="$2" origin="$3" port
  port="$(free_port)"
  mkdir -p "$work/$name"
  # Development mode over plain HTTP: the refresh cookie must not be Secure
  # or a browser (and the flow's cookie jar) would drop it.
  env -i PATH="$PATH" HOME="$HOME" \
    APP_ENV=development LISTEN_ADDR="127.0.0.1:$port" DATA_DIR="$work/$name/data" \
    DATABASE_URL="$dburl" COOKIE_SECURE=false METRICS_ADDR= LOG_FORMAT=json LOG_LEVEL=warn \
    CORS_ALLOWED_ORIGINS="$origin" RATE_LIMIT_AUTH_PER_MINUTE=60 \
    "$work/api" serve >"$work/$name/server.log" 2>&1 &
  pids+=("$!")
  server_url="http://127.0.0.1:$port"
  wait_http "$server_url/readyz" 60 || { tail -20 "$work/$name/server.log" >&2; fail "$name server did not become ready"; }
  echo "$name server on $server_url"
}

run_flow() { # api_url binary_url
  (cd "$tools" && API_BASE_URL="$1" BINARY_BASE_URL="$2" timeout 120 node build/flow/flow.js)
}

engines=(sqlite)
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  engines+=(postgres)
elif [ "${CI:-}" = "true" ]; then
  fail "TEST_DATABASE_URL is not set; CI must run the PostgreSQL flow"
fi

for engine in "${engines[@]}"; do
  dburl=""
  if [ "$engine" = postgres ]; then
    schema="contract_$(date +%s)_$$"
    psql "$TEST_DATABASE_URL" -qc "CREATE SCHEMA $schema" >/dev/null
    schemas+=("$schema")
    case "$TEST_DATABASE_URL" in
      *\?*) dburl="$TEST_DATABASE_URL&search_path=$schema" ;;
      *) dburl="$TEST_DATABASE_URL?search_path=$schema" ;;
    esac
  fi

  step "client flow against the server ($engine)"
  # Through the proxy the page's origin is the proxy's, another origin than
  # the server's: it must be allowed, as a front end's origin is in production.
  pport="$(free_port)"
  start_server "$engine" "$dburl" "http://127.0.0.1:$pport"
  direct="$server_url"
  run_flow "$direct" "$direct" || { tail -20 "$work/$engine/server.log" >&2; fail "client flow failed on $engine"; }

  if [ "${CONTRACT_PRISM:-1}" != 0 ]; then
    step "client flow through Prism's validating proxy ($engine)"
    (cd "$tools" && exec "$bin/prism" proxy "$root/openapi.yaml" "$direct" --errors \
      --host 127.0.0.1 --port "$pport" >"$work/$engine/prism.log" 2>&1) &
    pids+=("$!")
    wait_http "http://127.0.0.1:$pport/healthz" 60 || { tail -20 "$work/$engine/prism.log" >&2; fail "Prism did not start"; }
    run_flow "http://127.0.0.1:$pport" "$direct" || {
      grep -iE 'error|violation' "$work/$engine/prism.log" | tail -20 >&2
      fail "client flow through Prism failed on $engine"
    }
  fi
done

printf '\ncontract checks passed in %ds\n' "$(($(date +%s) - start))"
