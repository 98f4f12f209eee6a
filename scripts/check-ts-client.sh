#!/usr/bin/env bash
# Generates TypeScript types from openapi.yaml with openapi-typescript, as a
# front-end team would, in the repository root (so it reads redocly.yaml and
# lints with the project's rules, exactly as `npx openapi-typescript
# openapi.yaml` there would), and type-checks a small usage file against them.
# The tools are the versions pinned in tools/contract (scripts/contract-tools.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(bash scripts/contract-tools.sh)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp scripts/ts-client/use.ts "$work/"
"$bin/openapi-typescript" openapi.yaml -o "$work/api.d.ts" --silent
"$bin/tsc" --noEmit --strict --target es2020 --moduleResolution node "$work/use.ts"
echo "TypeScript client types generate and type-check"
