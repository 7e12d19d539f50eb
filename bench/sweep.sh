#!/usr/bin/env bash
# Sweep submission benchmark (bench/sweep.ts) against the loopback cluster;
# needs root (it runs hpcjob as alice) and `npm run build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
# Bundled beside its source: the test helpers find the checkout from their own location.
out=bench/.sweep.mjs
trap 'rm -f "$out"' EXIT
npx esbuild bench/sweep.ts --bundle --platform=node --format=esm --packages=external --log-level=warning --outfile="$out"
node "$out"
