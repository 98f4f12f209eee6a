#!/usr/bin/env bash
# Installs the npm tools pinned in tools/contract/package-lock.json with `npm ci`
# (again whenever the lock file changes) and prints their bin folder.
# Everything else goes to standard error so callers can capture the path.
set -euo pipefail
cd "$(dirname "$0")/../tools/contract"
command -v npm >/dev/null || { echo "contract-tools: node and npm are required (apt-get install nodejs npm)" >&2; exit 1; }
stamp=node_modules/.package-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "contract-tools: npm ci in tools/contract" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" >"$stamp"
fi
echo "$PWD/node_modules/.bin"
