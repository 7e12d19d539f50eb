/**
 * Sweeps end to end on the loopback Slurm cluster, as alice: a grid runs as
 * one job array whose every task runs the program inside the test image with
 * its own parameters, byte for byte in every style; a sweep larger than the
 * cluster's MaxArraySize (1001, Slurm's default) is split into held arrays
 * that cover every point once, and a task of a later array finds its point
 * at its array's offset. Each task records its end in tasks/POINT.json;
 * --follow waits for every task and exits 1 naming the point that failed.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cancelAll, hpcjob, imagePaths, jobState, requireCluster, testImages, until } from "./harness.js";

const IMAGE = imagePaths("alice").sif;
const BATCH = ["batch", "--cluster", "loopback", "--image", IMAGE, "--json"];

/** Values no shell or YAML reader may change on their way to the program. */
const HOSTILE = ['it\'s "q" $HOME `id` $(id) \\ ü 🎉', "  two  spaces\tand a tab ", "--not-a-flag", "*", "", "line 1\nline 2"];

/** What sweep.py printed: its arguments after the script and the sweep's variables. */
interface Seen {
  argv: string[];
  env: Record<string, string>;
}

/** The script that shows what it was given, and a sweep file of hostile values. */
function prepareAlice(): void {
  const points = HOSTILE.map((v) => `- msg: ${JSON.stringify(v)}`).join("\n");
  const script = [
    "mkdir -p ~/work",
    "cat > ~/work/sweep.py <<'PY'",
    "import json, os, sys",
    "env = {k: v for k, v in os.environ.items() if k.startswith('HPCJOB_PARAM_') or k == 'HPCJOB_POINT'}",
    "print('sweep:' + json.dumps({'argv': sys.argv[1:], 'env': env}), flush=True)",
    "PY",
    // Fails point lr=1e-4 seed=1 (point 4) with exit code 3 until the file "fixed" exists beside it.
    "rm -f ~/work/fixed",
    "cat > ~/work/flaky.py <<'PY'",
    "import os, sys",
    "if sys.argv[-4:] == ['--lr', '1e-4', '--seed', '1'] and not os.path.exists('fixed'):",
    "    print('flaky: failing on purpose', flush=True)",
    "    sys.exit(3)",
    "print('flaky: ok', flush=True)",
    "PY",
    "cat > ~/work/hostile.yaml <<'YAML'",
    points,
    "YAML",
  ].join("\n");
  const r = spawnSync("runuser", ["-u", "alice", "--", "bash", "-c", script], { cwd: "/", encoding: "utf8" });
  if (r.status !== 0) throw new Error(`could not prepare alice's files: ${r.stderr}`);
}

/** Submit a sweep; its JSON result. */
function submitSweep(args: string[]): {
  jobId: string;
  runDir: string;
  points: number;
  arrays: { jobId: string; offset: number; count: number }[];
} {
  const r = hpcjob("alice", [...BATCH, ...args]);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

/** Wait until Slurm lists no task of the array, then what each task's program printed, by task log name. */
async function tasksSeen(runDir: string, jobId: string, tasks: number): Promise<Map<string, Seen>> {
  await until(`array ${jobId} to end`, () => jobState(jobId) === "", 120_000, 500);
  const logs = readdirSync(join(runDir, "logs")).sort();
  expect(logs).toEqual(Array.from({ length: tasks }, (_, i) => `${jobId}_${i}.log`).sort());
  const seen = new Map<string, Seen>();
  for (const log of logs) {
    const text = readFileSync(join(runDir, "logs", log), "utf8");
    const line = text.split("\n").find((l) => l.startsWith("sweep:"));
    expect(line, `${log} has no output of the program:\n${text}`).toBeDefined();
    seen.set(log, JSON.parse((line as string).slice("sweep:".length)));
  }
  return seen;
}

beforeAll(() => {
  requireCluster();
  cancelAll();
  testImages("alice");
  prepareAlice();
});
afterEach(() => cancelAll());
afterAll(() => cancelAll());

describe("a sweep", () => {
  it("a 2x3 grid runs as one array, and every task ran the program with its own parameters", async () => {
    const out = submitSweep(["--sweep", "lr=1e-3,1e-4", "--sweep", "seed=0..2", "sweep.py", "--epochs", "2"]);
    expect(out.points).toBe(6);
    expect(out.arrays).toEqual([{ jobId: out.jobId, offset: 0, count: 6, script: `${out.runDir}/job.sbatch` }]);
    const seen = await tasksSeen(out.runDir, out.jobId, 6);
    let point = 0;
    for (const lr of ["1e-3", "1e-4"]) {
      for (const seed of ["0", "1", "2"]) {
        expect(seen.get(`${out.jobId}_${point}.log`)).toEqual({
          argv: ["--epochs", "2", "--lr", lr, "--seed", seed],
          env: { HPCJOB_POINT: String(point), HPCJOB_PARAM_lr: lr, HPCJOB_PARAM_seed: seed },
        });
        point++;
      }
    }
  });

  it("values reach the program byte for byte from a sweep file, as NAME=VALUE (hydra) and as variables only (env)", async () => {
    const hydra = submitSweep(["--sweep-file", "hostile.yaml", "--sweep-style", "hydra", "--sweep", "n=1..1", "sweep.py"]);
    const env = submitSweep(["--sweep-file", "hostile.yaml", "--sweep-style", "env", "--", "python3", "sweep.py", "--own"]);
    const byHydra = await tasksSeen(hydra.runDir, hydra.jobId, HOSTILE.length);
    const byEnv = await tasksSeen(env.runDir, env.jobId, HOSTILE.length);
    HOSTILE.forEach((msg, i) => {
      expect(byHydra.get(`${hydra.jobId}_${i}.log`)).toEqual({
        argv: [`msg=${msg}`, "n=1"],
        env: { HPCJOB_POINT: String(i), HPCJOB_PARAM_msg: msg, HPCJOB_PARAM_n: "1" },
      });
      expect(byEnv.get(`${env.jobId}_${i}.log`)).toEqual({ argv: ["--own"], env: { HPCJOB_POINT: String(i), HPCJOB_PARAM_msg: msg } });
    });
  });

  it("2,500 points against MaxArraySize 1001 are submitted held as 3 arrays that cover every point once; a task of the second runs its own point", async () => {
    const out = submitSweep(["--hold", "--sweep", "i=0..2499", "sweep.py"]);
    expect(out.arrays.map((a) => [a.offset, a.count])).toEqual([
      [0, 1001],
      [1001, 1001],
      [2002, 498],
    ]);
    const covered: number[] = [];
    for (const a of out.arrays) {
      // Slurm's own view: every task of the array, held.
      const q = spawnSync("squeue", ["-r", "-h", "-j", a.jobId, "-o", "%K %T %r"], { encoding: "utf8" });
      const tasks = q.stdout.trim().split("\n");
      expect(tasks).toHaveLength(a.count);
      for (const t of tasks) {
        const [task, state, reason] = t.split(" ");
        expect([state, reason]).toEqual(["PENDING", "JobHeldUser"]);
        // The point each task runs: the offset its array's script carries, plus its task id.
        covered.push(a.offset + Number(task));
      }
      const script = readFileSync(join(out.runDir, a.offset === 0 ? "job.sbatch" : `job-${a.offset}.sbatch`), "utf8");
      expect(script).toContain(`HPCJOB_POINT=$(( ${a.offset} + `);
    }
    expect(new Set(covered).size).toBe(2500);
    expect(covered.every((p) => p >= 0 && p < 2500)).toBe(true);

    // ps: each array one row with its counts; --json lists its tasks and the points they run.
    const ps = hpcjob("alice", ["ps", "--json"]);
    expect(ps.status, ps.stderr).toBe(0);
    // squeue's order, not submission order: each array's row by its job id.
    const rows = new Map((JSON.parse(ps.stdout) as { jobId: string; counts?: unknown; tasks?: unknown[] }[]).map((r) => [r.jobId, r]));
    for (const a of out.arrays) {
      const row = rows.get(a.jobId);
      expect([row?.counts, row?.tasks?.length]).toEqual([{ pending: a.count, running: 0, done: 0, failed: 0 }, a.count]);
    }
    expect(rows.get(out.arrays[1]?.jobId ?? "")?.tasks?.[5]).toEqual({ task: 5, point: 1006, state: "PENDING" });
    expect(hpcjob("alice", ["ps"]).stdout).toContain(`ARRAY 1001 pending, 0 running, 0 done, 0 failed`);

    const second = out.arrays[1]?.jobId as string;
    expect(spawnSync("scontrol", ["release", `${second}_5`]).status).toBe(0);
    await until(
      "task 5 of the second array to run",
      () => {
        try {
          return readFileSync(join(out.runDir, "logs", `${second}_5.log`), "utf8").includes("hpcjob: the program exited");
        } catch {
          return false;
        }
      },
      60_000,
      500,
    );
    const log = readFileSync(join(out.runDir, "logs", `${second}_5.log`), "utf8");
    const line = log.split("\n").find((l) => l.startsWith("sweep:")) ?? "";
    expect(JSON.parse(line.slice("sweep:".length))).toEqual({
      argv: ["--i", "1006"],
      env: { HPCJOB_POINT: "1006", HPCJOB_PARAM_i: "1006" },
    });

    expect(
      spawnSync(
        "scancel",
        out.arrays.map((a) => a.jobId),
      ).status,
    ).toBe(0);
    await until("the arrays to be cancelled", () => out.arrays.every((a) => jobState(a.jobId) === ""), 30_000);
  });

  it("--follow waits for every task and exits 1 naming the point whose program failed; every task recorded its end; --resubmit-failed runs exactly that point again", async () => {
    const r = hpcjob("alice", [...BATCH, "--follow", "--sweep", "lr=1e-3,1e-4", "--sweep", "seed=0..2", "flaky.py"], {
      timeoutMs: 180_000,
    });
    expect(r.status, r.stderr).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(r.stderr).toContain(`point 4 (lr=1e-4 seed=1) failed: exit code 3; log: ${out.runDir}/logs/${out.jobId}_4.log`);
    expect(r.stderr).toContain("sweep: 0 pending, 0 running, 5 done, 1 failed (of 6)");
    expect(out.counts).toEqual({ pending: 0, running: 0, done: 5, failed: 1 });
    expect(out.failed).toEqual([
      { index: 4, params: { lr: "1e-4", seed: "1" }, state: "FAILED", exitCode: 3, log: `${out.runDir}/logs/${out.jobId}_4.log` },
    ]);
    const tasks = join(out.runDir, "tasks");
    expect(readdirSync(tasks).sort()).toEqual(["0.json", "1.json", "2.json", "3.json", "4.json", "5.json"]);
    for (let i = 0; i < 6; i++) {
      const record = JSON.parse(readFileSync(join(tasks, `${i}.json`), "utf8"));
      expect(record).toMatchObject({ index: i, arrayJobId: out.jobId, taskId: String(i), exitCode: i === 4 ? 3 : 0, signal: null });
      expect(record.node).not.toBe("");
      expect(Date.parse(record.end)).toBeGreaterThanOrEqual(Date.parse(record.start));
    }

    // The program is fixed; only point 4 runs again, as a new array of one task in the same run.
    const fixed = spawnSync("runuser", ["-u", "alice", "--", "touch", "/home/alice/work/fixed"]);
    expect(fixed.status).toBe(0);
    const again = hpcjob("alice", ["batch", "--cluster", "loopback", "--json", "--resubmit-failed", out.runDir]);
    expect(again.status, again.stderr).toBe(0);
    const resub = JSON.parse(again.stdout);
    expect(resub.runDir).toBe(out.runDir);
    expect(resub.arrays).toHaveLength(1);
    expect(resub.arrays[0]).toMatchObject({ offset: 0, count: 1 });
    expect(readFileSync(join(out.runDir, "resubmit-1.points"), "utf8")).toBe("4\n");
    const id = resub.arrays[0].jobId as string;
    await until(`array ${id} to end`, () => jobState(id) === "", 120_000, 500);
    expect(readdirSync(join(out.runDir, "logs")).filter((l) => l.startsWith(`${id}_`))).toEqual([`${id}_0.log`]);
    const log = readFileSync(join(out.runDir, "logs", `${id}_0.log`), "utf8");
    expect(log).toContain("point 4 of the sweep");
    expect(log).toContain("flaky: ok");
    for (let i = 0; i < 6; i++) {
      const record = JSON.parse(readFileSync(join(tasks, `${i}.json`), "utf8"));
      expect(record.exitCode).toBe(0);
      if (i === 4) expect(record).toMatchObject({ arrayJobId: id, taskId: "0", index: 4 });
    }
    const arrays = JSON.parse(readFileSync(join(out.runDir, "arrays.json"), "utf8"));
    expect(arrays.arrays.map((a: { jobId: string }) => a.jobId)).toEqual([out.jobId, id]);
    // Nothing left to resubmit.
    const none = hpcjob("alice", ["batch", "--cluster", "loopback", "--resubmit-failed", out.runDir]);
    expect(none.status, none.stderr).toBe(0);
    expect(none.stderr).toContain("all 6 points of");
  });
});
