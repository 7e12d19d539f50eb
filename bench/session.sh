#!/usr/bin/env bash
# Session benchmark (bench/session.ts) against the loopback cluster; needs
# root (it runs hpcjob as the test users) and `npm run build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
# Bundled beside its source: the test helpers find the checkout from their own location.
out=bench/.session.mjs
trap 'rm -f "$out"' EXIT
npx esbuild bench/session.ts --bundle --platform=node --format=esm --packages=external --log-level=warning --outfile="$out"
node "$out"
