#!/usr/bin/env bash
# Static checks of the container build and the compose deployment, without a
# Docker engine (CI has none): the Dockerfile through BuildKit's parser and
# lint rules (as `docker build --check`), the .dockerignore, and
# deploy/compose.yaml through compose-go (schema, interpolation from
# deploy/.env.example), each with this project's own rules; see deploy/check/.
# Exits non-zero on any problem. Needs only Go: the checker's pinned
# dependencies (deploy/check/go.sum) come from the module proxy on first use.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
export PATH="$PATH:/usr/local/go/bin"
# The Go that is installed (go.mod's version), no toolchain download; go.sum is
# authoritative (a missing or changed entry fails instead of being added).
export GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly -buildvcs=false"

command -v go >/dev/null || { echo "deploy/check.sh: go is not installed (it needs the Go version deploy/check/go.mod names)" >&2; exit 2; }

status=0

# deploy/.env holds the production secrets: it must be ignored and never tracked.
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
  if ! git -C "$root" check-ignore -q deploy/.env; then
    echo "deploy/.env: not git-ignored; add it to .gitignore (it holds the production secrets)" >&2
    status=1
  fi
  if [ -n "$(git -C "$root" ls-files -- deploy/.env deploy/certs)" ]; then
    echo "deploy/.env or deploy/certs/ is tracked by git; remove it from the index and rotate what it held" >&2
    status=1
  fi
fi

(cd "$root/deploy/check" && go run . -root "$root") || status=1
exit "$status"
