#!/usr/bin/env bash
# Runs the README's curl walk-through (the block between the walkthrough
# markers) twice in a row against a real server started as the README says,
# and checks what a reader is told to expect. Exits non-zero on any mismatch.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$tmp" jar hello.txt
}
trap cleanup EXIT

block="$(awk '/<!-- walkthrough:begin -->/{on=1; next} /<!-- walkthrough:end -->/{on=0} on && !/^```/' README.md)"
[ -n "$block" ] || { echo "walkthrough: no block between the markers in README.md" >&2; exit 1; }

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export DATA_DIR="$tmp/data" LISTEN_ADDR="127.0.0.1:$port" API="http://127.0.0.1:$port"
# Only the variables the README sets; nothing else from a developer's .env.
unset DATABASE_URL REDIS_URL APP_ENV

go build -o "$tmp/api" ./cmd/api
COOKIE_SECURE=false "$tmp/api" >"$tmp/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -sf "$API/healthz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.log"; echo "walkthrough: the server did not start" >&2; exit 1; }
  sleep 0.1
done

# What the README's comments promise, in the order the block prints it.
expect=(
  '"email":"alice-'               # register: 201 and the user
  '^204$'                         # the mailed verification link
  '"email_verified_at":"20'       # GET /users/me: the address is verified
  '"items":\['                    # sessions and files
  '^hello$'                       # the download
  '"access_token":"'              # refresh
  '^204$'                         # logout
  '"status":401'                  # the old access token after logout
  '^401 401 401 401 401 429 $'    # the lockout
  '^[0-9a-f]{8}-[0-9a-f]{4}-'     # create-admin prints the new id
  '^audit chain intact: [0-9]+ events$'
)

for pass in 1 2; do
  out="$tmp/pass$pass.out"
  if ! bash -euo pipefail -c "$block" >"$out" 2>&1; then
    cat "$out"; echo "walkthrough: pass $pass: a command failed" >&2; exit 1
  fi
  line=0
  for pattern in "${expect[@]}"; do
    found="$(tail -n +"$((line + 1))" "$out" | grep -nE -m1 -- "$pattern" | cut -d: -f1 || true)"
    if [ -z "$found" ]; then
      cat "$out"; echo "walkthrough: pass $pass: expected output matching $pattern (after line $line)" >&2; exit 1
    fi
    line=$((line + found))
  done
  if grep -qE '"status":5[0-9][0-9]' "$out"; then
    cat "$out"; echo "walkthrough: pass $pass: a server error" >&2; exit 1
  fi
  echo "walkthrough: pass $pass ok ($(wc -l <"$out") lines of output)"
  if [ -n "${WALKTHROUGH_VERBOSE:-}" ]; then cat "$out"; fi
done
