#!/usr/bin/env bash
# Start-up benchmark: `hpcjob --version` and a --dry-run render against bare
# `node -e 0`, with hyperfine (apt-get install hyperfine). Fails when a render
# takes more than BENCH_MAX_RATIO (default 1.3) times bare node start-up.
# Run after `npm run build`: npm run bench
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "bench: hyperfine is not installed (apt-get install hyperfine)" >&2; exit 2; }
[ -f dist/hpcjob.cjs ] || { echo "bench: run npm run build first" >&2; exit 2; }

max_ratio=${BENCH_MAX_RATIO:-1.3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
home="$out/home"
mkdir -p "$home/.config/hpcjob"
node=$(command -v node)
render="$node bin/hpcjob.cjs jupyter --cluster vera --gpus A40:1 --account C3SE2024-1-2 --image /cephyr/pytorch.sif --dry-run"

# No user files: the built-in profile comes validated from the build.
HOME=$home hyperfine --shell=none --warmup 5 --runs "${BENCH_RUNS:-40}" --export-json "$out/plain.json" \
  -n "node -e 0" "$node -e 0" \
  -n "hpcjob --version" "$node bin/hpcjob.cjs --version" \
  -n "hpcjob jupyter --dry-run" "$render" >&2
# A user config file: YAML and zod are loaded to read it.
printf 'cluster: vera\naccount: C3SE2024-1-2\n' >"$home/.config/hpcjob/config.yaml"
HOME=$home hyperfine --shell=none --warmup 5 --runs "${BENCH_RUNS:-40}" --export-json "$out/config.json" \
  -n "hpcjob jupyter --dry-run (with config.yaml)" "$render" >&2

node - "$out/plain.json" "$out/config.json" "$max_ratio" <<'JS'
const fs = require("node:fs");
const [plain, config, maxRatio] = process.argv.slice(2);
const results = [...JSON.parse(fs.readFileSync(plain)).results, ...JSON.parse(fs.readFileSync(config)).results];
const base = results[0].mean;
let failed = false;
console.log("\ncommand                                        mean ms   x node -e 0");
for (const r of results) {
  const ratio = r.mean / base;
  const limited = r.command.includes("--dry-run") && !r.command.includes("config");
  if (limited && ratio > Number(maxRatio)) failed = true;
  console.log(`${r.command.padEnd(46)} ${(r.mean * 1000).toFixed(1).padStart(7)}   ${ratio.toFixed(2)}${limited ? `  (limit ${maxRatio})` : ""}`);
}
if (failed) {
  console.error(`bench: a --dry-run render took more than ${maxRatio} x node start-up`);
  process.exit(1);
}
JS
