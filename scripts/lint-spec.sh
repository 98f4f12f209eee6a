#!/usr/bin/env bash
# Lints openapi.yaml with Redocly CLI (recommended-strict rules, see redocly.yaml).
# The CLI is installed from npm at a pinned version into a cache folder on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
REDOCLY_VERSION=2.77.0
dir="${XDG_CACHE_HOME:-$HOME/.cache}/secureapi/redocly-$REDOCLY_VERSION"
if [ ! -x "$dir/node_modules/.bin/redocly" ]; then
  command -v npm >/dev/null || { echo "lint-spec: npm is required (apt-get install nodejs npm)" >&2; exit 1; }
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-audit --no-fund --silent "@redocly/cli@$REDOCLY_VERSION" >&2
fi
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true "$dir/node_modules/.bin/redocly" lint openapi.yaml --format=stylish 2>&1 | grep -v '[║╔╚]'
exit "${PIPESTATUS[0]}"
