#!/usr/bin/env bash
# Start-up benchmark: `hpcjob --version` and a --dry-run render against bare
# `node -e 0`, with hyperfine (apt-get install hyperfine), after `npm run build`.
#
# Measured twice, because Node's own start-up depends on the environment: with
# this machine's environment as it is (what a user here feels; a login node
# that sets NODE_EXTRA_CA_CERTS makes every Node start parse the whole CA
# bundle, about 50 ms), and in a clean one (env -i), where node -e 0 is fastest
# and hpcjob's own share shows most. The render must stay within
# BENCH_MAX_RATIO (1.3) x node in the machine's environment, and within
# BENCH_MAX_CLEAN_RATIO (1.6) x in the clean one (a guard against regressions;
# measured 1.39 here, see the README).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "bench: hyperfine is not installed (apt-get install hyperfine)" >&2; exit 2; }
[ -f dist/hpcjob.cjs ] || { echo "bench: run npm run build first" >&2; exit 2; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Measure and check; on a miss, measure once more before failing, since a
# shared machine's load comes and goes between hyperfine's blocks of runs.
measure() {
home="$out/home"
mkdir -p "$home/.config/hpcjob"
node=$(command -v node)
runs=${BENCH_RUNS:-40}
args="jupyter --cluster vera --gpus A40:1 --account C3SE2024-1-2 --image /cephyr/pytorch.sif --dry-run"
clean="env -i HOME=$home PATH=/usr/bin:/bin"
exe=dist/hpcjob-linux-x64

# 1. This machine's environment. No user files: the built-in profile comes validated from the build.
HOME=$home hyperfine --shell=none --warmup 5 --runs "$runs" --export-json "$out/machine.json" \
  -n "node -e 0" "$node -e 0" \
  -n "hpcjob --version" "$node bin/hpcjob.cjs --version" \
  -n "hpcjob jupyter --dry-run" "$node bin/hpcjob.cjs $args" >&2
# With a user config file: YAML and zod are loaded to read it.
printf 'cluster: vera\naccount: C3SE2024-1-2\n' >"$home/.config/hpcjob/config.yaml"
HOME=$home hyperfine --shell=none --warmup 5 --runs "$runs" --export-json "$out/config.json" \
  -n "hpcjob jupyter --dry-run, config.yaml" "$node bin/hpcjob.cjs $args" >&2
rm -f "$home/.config/hpcjob/config.yaml"

# 2. A clean environment, and the single executable when it has been built.
exe_cmds=()
if [ -x "$exe" ]; then
  exe_cmds=(-n "hpcjob-linux-x64 --version" "$clean $exe --version" -n "hpcjob-linux-x64 jupyter --dry-run" "$clean $exe $args")
fi
hyperfine --shell=none --warmup 5 --runs "$runs" --export-json "$out/clean.json" \
  -n "node -e 0" "$clean $node -e 0" \
  -n "hpcjob --version" "$clean $node bin/hpcjob.cjs --version" \
  -n "hpcjob jupyter --dry-run" "$clean $node bin/hpcjob.cjs $args" \
  "${exe_cmds[@]}" >&2

if [ -x "$exe" ]; then
  echo "single executable: $(du -m "$exe" | cut -f1) MB"
else
  echo "single executable: not built (npm run build:binary)"
fi

node - "$out" "${BENCH_MAX_RATIO:-1.3}" "${BENCH_MAX_CLEAN_RATIO:-1.6}" <<'JS'
const fs = require("node:fs");
const [dir, maxMachine, maxClean] = process.argv.slice(2);
const read = (f) => JSON.parse(fs.readFileSync(`${dir}/${f}.json`)).results;
let failed = false;
/** Print one table; fail if a dry run (without config.yaml) exceeds `limit` x the first row (medians). */
function table(title, results, limit) {
  const base = results[0].median;
  console.log(`\n${title}\ncommand                                      median ms   x node -e 0`);
  for (const r of results) {
    const ratio = r.median / base;
    const limited = r.command.endsWith("--dry-run");
    if (limited && ratio > Number(limit)) failed = true;
    console.log(`${r.command.padEnd(46)} ${(r.median * 1000).toFixed(1).padStart(7)}   ${ratio.toFixed(2)}${limited ? `  (limit ${limit})` : ""}`);
  }
}
table("this machine's environment", [...read("machine"), ...read("config")], maxMachine);
table("clean environment (env -i)", read("clean"), maxClean);
if (failed) {
  console.error("bench: a --dry-run render took longer than its limit");
  process.exit(1);
}
JS
}

measure || { echo "bench: measuring once more" >&2; measure; }
