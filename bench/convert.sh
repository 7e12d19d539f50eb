#!/usr/bin/env bash
# Benchmark of an up-to-date `hpcjob image convert` (bench/convert.ts) against
# the loopback cluster and its test registry; needs root (it runs hpcjob as
# alice), hyperfine, the real test images (test/cluster/images.sh) and
# `npm run build` first.
set -euo pipefail
cd "$(dirname "$0")/.."
# Bundled beside its source: the test helpers find the checkout from their own location.
out=bench/.convert.mjs
trap 'rm -f "$out"' EXIT
npx esbuild bench/convert.ts --bundle --platform=node --format=esm --packages=external --log-level=warning --outfile="$out"
node "$out"
