/**
 * Sweep submission benchmark on the loopback cluster (MaxArraySize 1001,
 * Slurm's default), as alice: the wall time of `hpcjob batch --hold --sweep
 * i=0..2499` from start to exit (the process start, the table, one
 * `scontrol show config`, three array scripts and their sbatch calls), on
 * the login node and from the laptop over SSH, and the number of sbatch
 * calls (counted on the login node). Target: under 2 s, in 3 sbatch calls.
 * Each run's arrays are cancelled after it; Slurm keeps a cancelled task's
 * record for MinJobAge (300 s) and every one counts towards MaxJobCount
 * (10000 here), so each place runs once by default: more sweeps within five
 * minutes would leave sbatch "sleeping and retrying" for everyone.
 * Run by `npm run bench` (bench/sweep.sh bundles this file and runs it).
 */
import { spawnSync } from "node:child_process";
import { cancelAll, countedCommand, hpcjob, laptopEnv, requireCluster, testImages, until } from "../test/e2e/harness.js";

const RUNS = Number(process.env.BENCH_SWEEP_RUNS ?? 1);
const POINTS = 2500;
const MAX_MS = Number(process.env.BENCH_MAX_SWEEP_MS ?? 2000);

/** One held sweep of POINTS points: ms from start to exit, the arrays, then cancelled. */
function submitOnce(image: string, env: Record<string, string>): { ms: number; arrays: number } {
  const started = Date.now();
  const r = hpcjob("alice", ["batch", "--cluster", "loopback", "--image", image, "--hold", "--json", "--sweep", `i=0..${POINTS - 1}`, "--", "true"], {
    env,
    timeoutMs: 60_000,
  });
  const ms = Date.now() - started;
  if (r.status !== 0) {
    const why = r.status === -1 ? "did not end within a minute (is sbatch retrying: MaxJobCount reached? see slurmctld's log)" : `failed (exit ${r.status})`;
    throw new Error(`hpcjob batch --sweep ${why}: ${r.stderr}${r.stdout}`);
  }
  const out = JSON.parse(r.stdout) as { arrays: { jobId: string; count: number }[] };
  const total = out.arrays.reduce((n, a) => n + a.count, 0);
  if (total !== POINTS) throw new Error(`the arrays hold ${total} tasks, not ${POINTS}`);
  spawnSync("scancel", out.arrays.map((a) => a.jobId));
  return { ms, arrays: out.arrays.length };
}

async function main(): Promise<void> {
  requireCluster();
  cancelAll();
  const image = testImages("alice").sif;
  spawnSync("runuser", ["-u", "alice", "--", "mkdir", "-p", "/home/alice/work"], { stdio: "inherit" });

  const sbatch = countedCommand("sbatch");
  const login: number[] = [];
  let arrays = 0;
  for (let i = 0; i < RUNS; i++) {
    const run = submitOnce(image, { PATH: sbatch.path });
    login.push(run.ms);
    arrays = run.arrays;
  }
  const calls = sbatch.calls().length / RUNS;
  const laptop: number[] = [];
  for (let i = 0; i < RUNS; i++) laptop.push(submitOnce(image, laptopEnv()).ms);
  await until("the cancelled arrays to leave the queue", () => spawnSync("squeue", ["-h", "-u", "alice"], { encoding: "utf8" }).stdout.trim() === "", 30_000);

  const worst = Math.max(...login, ...laptop);
  console.log(`\nsweep of ${POINTS} points, held, MaxArraySize 1001       result`);
  console.log(`on the login node                                 ${login.map((ms) => `${ms} ms`).join(", ")}`);
  console.log(`from the laptop over SSH                          ${laptop.map((ms) => `${ms} ms`).join(", ")}`);
  console.log(`arrays, sbatch calls per sweep                    ${arrays} arrays, ${calls} sbatch calls (target 3)`);
  console.log(`worst                                             ${worst} ms (target < ${MAX_MS} ms)`);
  if (worst >= MAX_MS || calls !== 3 || arrays !== 3) {
    console.error("bench: a sweep target was missed");
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
});
