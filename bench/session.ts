/**
 * Session benchmark on the loopback cluster (test/cluster/start.sh), as alice:
 *  - time from the job writing connection.json to hpcjob printing the tunnel
 *    (target <= 1 s), over a few Jupyter jobs;
 *  - squeue calls per minute while a job pends for a minute behind another user's,
 *    for Jupyter's wait and for batch --follow, side by side (at most 8 a
 *    minute, never within 2 s of the last).
 * Run by `npm run bench` (bench/session.sh bundles this file and runs it).
 */
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { blockNode, cancelAll, countedSqueue, requireCluster, runAs, startHpcjob, testImages, until } from "../test/e2e/harness.js";

/** The image the jobs run: the real test image (set in main). */
let IMAGE = "";
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

/** How often one waiter asked squeue while its job pended. */
interface Rate {
  calls: number;
  perMinute: number;
  minGapMs: number;
}

/** The calls of a counted squeue in the PENDING_MS from its first one. */
function rateOf(at: number[]): Rate {
  const first = at[0] ?? 0;
  const within = at.filter((t) => t < first + PENDING_MS);
  const gaps = within.slice(1).map((t, i) => t - (within[i] as number));
  return { calls: within.length, perMinute: (within.length * 60_000) / PENDING_MS, minGapMs: Math.min(...gaps) };
}

/**
 * squeue calls per minute while hpcjob waits for a job that pends behind
 * another user's: `jupyter` and `batch --follow` side by side in the same minute, each
 * with its own counted squeue first on PATH.
 */
async function squeueRates(): Promise<{ jupyter: Rate; follow: Rate }> {
  const jupyterSqueue = countedSqueue();
  const followSqueue = countedSqueue();
  const blocker = blockNode();
  try {
    const jupyter = startHpcjob("alice", ["jupyter", "--cluster", "loopback", "--image", IMAGE, "--timeout", `${Math.round(PENDING_MS / 1000)}s`], {
      env: { PATH: jupyterSqueue.path },
    });
    const follow = startHpcjob("alice", ["batch", "--cluster", "loopback", "--image", IMAGE, "--follow", "--", "true"], {
      env: { PATH: followSqueue.path },
    });
    await until("batch --follow to ask squeue", () => followSqueue.calls().length > 0, 30_000);
    const first = followSqueue.calls()[0] as number;
    await new Promise((r) => setTimeout(r, first + PENDING_MS + 500 - Date.now()));
    // Ctrl-C: following stops and the job stays (cancelAll removes it).
    process.kill(follow.pid(), "SIGINT");
    await Promise.all([jupyter.done, follow.done]);
    return { jupyter: rateOf(jupyterSqueue.calls()), follow: rateOf(followSqueue.calls()) };
  } finally {
    spawnSync("scancel", [blocker]);
  }
}

async function main(): Promise<void> {
  requireCluster();
  cancelAll();
  // The real test image (the Apptainer stand-in runs Jupyter inside it), linked into alice's ~/images.
  IMAGE = testImages("alice").sif;
  spawnSync("runuser", ["-u", "alice", "--", "mkdir", "-p", "/home/alice/work"], { stdio: "inherit" });
  await until("an idle node", () => spawnSync("squeue", ["-h", "-t", "R,PD"], { encoding: "utf8" }).stdout.trim() === "", 30_000);

  const latencies: number[] = [];
  for (let i = 0; i < RUNS; i++) latencies.push(await readyLatency());
  const rates = await squeueRates();
  cancelAll();

  const worst = Math.max(...latencies);
  console.log("\nsession                                         result");
  console.log(`connection.json written -> tunnel printed       ${latencies.map((l) => `${l} ms`).join(", ")} (worst ${worst} ms, target <= 1000 ms)`);
  let failed = worst > 1000;
  for (const [name, rate] of [
    ["jupyter", rates.jupyter],
    ["batch --follow", rates.follow],
  ] as const) {
    console.log(
      `squeue calls while pending ${PENDING_MS / 1000} s, ${name.padEnd(15)}${rate.calls} (${rate.perMinute.toFixed(1)} per minute, limit 8; shortest gap ${rate.minGapMs} ms, limit >= 2000 ms)`,
    );
    if (rate.minGapMs < 2000 || rate.perMinute > 8) failed = true;
  }
  if (failed) {
    console.error("bench: a session target was missed");
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
});
