/**
 * Session benchmark on the loopback cluster (test/cluster/start.sh), as alice:
 *  - time from the job writing connection.json to hpcjob printing the tunnel
 *    (target <= 1 s), over a few Jupyter jobs;
 *  - squeue calls per minute while a job pends for a minute behind bob's
 *    (hpcjob must never ask more often than every 2 s).
 * Run by `npm run bench` (bench/session.sh bundles this file and runs it).
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cancelAll, requireCluster, runAs, stage, startHpcjob, until } from "../test/e2e/harness.js";

const IMAGE = "/home/alice/images/bench.sif";
const RUNS = Number(process.env.BENCH_SESSION_RUNS ?? 3);
const PENDING_MS = Number(process.env.BENCH_PENDING_MS ?? 60_000);

/** ms from connection.json's mtime to the moment hpcjob's JSON result arrived. */
async function readyLatency(): Promise<number> {
  const run = startHpcjob("alice", ["jupyter", "--cluster", "loopback", "--image", IMAGE, "--json", "--timeout", "2m"]);
  let printedAt = 0;
  run.child.stdout?.once("data", () => {
    printedAt = Date.now();
  });
  const code = await run.done;
  if (code !== 0) throw new Error(`hpcjob jupyter failed: ${run.stderr()}`);
  const result = JSON.parse(run.stdout()) as { jobId: string; runDir: string };
  const written = statSync(join(result.runDir, "connection.json")).mtimeMs;
  spawnSync("scancel", [result.jobId]);
  return Math.round(printedAt - written);
}

/** squeue calls per minute while hpcjob waits for a job that pends behind bob's. */
async function squeueRate(): Promise<{ calls: number; perMinute: number; minGapMs: number }> {
  // A squeue that logs each call, first on alice's PATH.
  const dir = mkdtempSync("/tmp/hpcjob-bench-");
  chmodSync(dir, 0o777);
  const calls = join(dir, "calls");
  writeFileSync(calls, "");
  chmodSync(calls, 0o666);
  writeFileSync(join(dir, "squeue"), `#!/bin/sh\ndate +%s%3N >> ${calls}\nexec /usr/bin/squeue "$@"\n`);
  chmodSync(join(dir, "squeue"), 0o755);

  const blocker = runAs("bob", ["sbatch", "--parsable", "-c", "2", "-o", "/dev/null", "--wrap", "sleep 600"]).stdout.trim();
  try {
    const run = startHpcjob("alice", ["jupyter", "--cluster", "loopback", "--image", IMAGE, "--timeout", `${Math.round(PENDING_MS / 1000)}s`], {
      env: { PATH: `${dir}:${stage()}/standins:/usr/local/bin:/usr/bin:/bin` },
    });
    await run.done;
    const at = readFileSync(calls, "utf8").trim().split("\n").filter(Boolean).map(Number);
    const gaps = at.slice(1).map((t, i) => t - (at[i] as number));
    return { calls: at.length, perMinute: (at.length * 60_000) / PENDING_MS, minGapMs: Math.min(...gaps) };
  } finally {
    spawnSync("scancel", [blocker]);
  }
}

async function main(): Promise<void> {
  requireCluster();
  cancelAll();
  spawnSync("runuser", ["-u", "alice", "--", "bash", "-c", `mkdir -p ~/work ~/images && printf 'SIF_MAGIC bench\\n' > ${IMAGE}`], { stdio: "inherit" });
  await until("an idle node", () => spawnSync("squeue", ["-h", "-t", "R,PD"], { encoding: "utf8" }).stdout.trim() === "", 30_000);

  const latencies: number[] = [];
  for (let i = 0; i < RUNS; i++) latencies.push(await readyLatency());
  const rate = await squeueRate();
  cancelAll();

  const worst = Math.max(...latencies);
  console.log("\nsession                                         result");
  console.log(`connection.json written -> tunnel printed       ${latencies.map((l) => `${l} ms`).join(", ")} (worst ${worst} ms, target <= 1000 ms)`);
  console.log(`squeue calls while pending ${PENDING_MS / 1000} s              ${rate.calls} (${rate.perMinute.toFixed(1)} per minute, shortest gap ${rate.minGapMs} ms, limit >= 2000 ms)`);
  let failed = false;
  if (worst > 1000) failed = true;
  if (rate.minGapMs < 2000) failed = true;
  if (failed) {
    console.error("bench: a session target was missed");
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
});
