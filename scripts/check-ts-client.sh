#!/usr/bin/env bash
# Generates TypeScript types from openapi.yaml with openapi-typescript, as a
# front-end team would, and type-checks a small usage file against them.
# The tools come from npm at pinned versions into a cache folder on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
OPENAPI_TS_VERSION=7.13.0
TYPESCRIPT_VERSION=5.9.3
dir="${XDG_CACHE_HOME:-$HOME/.cache}/secureapi/ts-client-$OPENAPI_TS_VERSION-$TYPESCRIPT_VERSION"
if [ ! -x "$dir/node_modules/.bin/tsc" ] || [ ! -x "$dir/node_modules/.bin/openapi-typescript" ]; then
  command -v npm >/dev/null || { echo "check-ts-client: npm is required (apt-get install nodejs npm)" >&2; exit 1; }
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --silent "openapi-typescript@$OPENAPI_TS_VERSION" "typescript@$TYPESCRIPT_VERSION" >&2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp scripts/ts-client/use.ts openapi.yaml "$work/"
# Run where the project's redocly.yaml (lint rules, enforced by lint-spec.sh) is not in the way.
(cd "$work" && "$dir/node_modules/.bin/openapi-typescript" openapi.yaml -o api.d.ts --silent)
"$dir/node_modules/.bin/tsc" --noEmit --strict --target es2020 --moduleResolution node "$work/use.ts"
echo "TypeScript client types generate and type-check"
