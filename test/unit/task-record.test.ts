/**
 * A sweep task's record of its end (tasks/POINT.json): the job script's own
 * lines, run by bash with hostile values from Slurm's environment, write one
 * valid JSON line that the reader's schema accepts, renamed into place.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { loadProfile } from "../../src/profile/load.js";
import { renderScript } from "../../src/render/render.js";
import { parseTaskRecords } from "../../src/runs/tasks.js";
import { ROOT, requestFor, tempDir } from "../helpers.js";

const ENV = { env: { HPCJOB_CLUSTERS: join(ROOT, "test", "fixtures", "clusters") }, home: "/nonexistent-home" };

/** The script's lines that record the task's end, for a run directory `runDir`. */
async function taskEnd(runDir: string): Promise<string> {
  const loaded = await loadProfile(ENV, "rt-none");
  const req = requestFor(loaded, { sweep: ["lr=1e-3,1e-4", "seed=0..2"] }, { kind: "batch", argv: ["train.py"], explicit: false });
  const script = renderScript(req, runDir);
  const from = script.indexOf("# This task's end");
  const to = script.lastIndexOf('exit "$hpcjob_status"');
  expect(from).toBeGreaterThan(0);
  return script.slice(from, to);
}

/** Run the lines as the end of task `point` with exit status `status` and Slurm's variables `env`. */
function runEnd(lines: string, point: number, status: number, env: Record<string, string>) {
  const prelude = `HPCJOB_POINT=${point}\nhpcjob_status=${status}\nhpcjob_start=$HOSTILE_START\n`;
  return spawnSync("bash", ["-c", prelude + lines], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8" });
}

it("writes valid JSON for hostile node names, ids and start times, with the signal of a killed program", async () => {
  const runDir = join(tempDir(), "run 'dir' $x");
  const lines = await taskEnd(runDir);
  const hostile = 'n"o\\de\n\t\u0001$(x)`y`';
  const r = runEnd(lines, 4, 137, {
    SLURM_ARRAY_JOB_ID: '12"3',
    SLURM_ARRAY_TASK_ID: "4\\",
    SLURM_JOB_ID: "130",
    SLURMD_NODENAME: hostile,
    HOSTILE_START: '2026-01-01T00:00:00Z"}',
  });
  expect(r.stderr).not.toMatch(/hpcjob|syntax/);
  expect(r.status).toBe(0);
  const dir = join(runDir, "tasks");
  expect(readdirSync(dir)).toEqual(["4.json"]);
  const text = readFileSync(join(dir, "4.json"), "utf8");
  expect(text.split("\n")).toHaveLength(2);
  const record = JSON.parse(text);
  expect(record).toMatchObject({
    index: 4,
    arrayJobId: '12"3',
    taskId: "4\\",
    jobId: "130",
    exitCode: 137,
    signal: "KILL",
    start: '2026-01-01T00:00:00Z"}',
    node: 'n"o\\de$(x)`y`',
  });
  expect(record.end).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  expect(parseTaskRecords(text).get(4)?.exitCode).toBe(137);
});

it("records an ordinary exit without a signal, and a resubmitted task's record replaces the one before", async () => {
  const runDir = tempDir();
  const lines = await taskEnd(runDir);
  const env = { SLURM_ARRAY_JOB_ID: "200", SLURM_ARRAY_TASK_ID: "0", SLURM_JOB_ID: "201", SLURMD_NODENAME: "c1", HOSTILE_START: "s" };
  expect(runEnd(lines, 2, 3, env).status).toBe(0);
  expect(JSON.parse(readFileSync(join(runDir, "tasks", "2.json"), "utf8"))).toMatchObject({ exitCode: 3, signal: null });
  expect(runEnd(lines, 2, 0, { ...env, SLURM_ARRAY_JOB_ID: "300", SLURM_JOB_ID: "300" }).status).toBe(0);
  const record = parseTaskRecords(readFileSync(join(runDir, "tasks", "2.json"), "utf8")).get(2);
  expect(record).toMatchObject({ exitCode: 0, arrayJobId: "300" });
  expect(readdirSync(join(runDir, "tasks"))).toEqual(["2.json"]);
});

it("reads records one a line and leaves out lines that are not records", () => {
  const good = { index: 1, arrayJobId: "5", taskId: "1", jobId: "6", exitCode: 0, signal: null, start: "a", end: "b", node: "c" };
  const records = parseTaskRecords(`${JSON.stringify(good)}\n{"index":2,"exit\nnot json\n${JSON.stringify({ ...good, index: -1 })}\n`);
  expect([...records.keys()]).toEqual([1]);
});

it("a resubmission's task reads its point from the picks file at its array's offset, and stops on a missing line", async () => {
  const runDir = tempDir();
  const picks = join(runDir, "resubmit-1.points");
  writeFileSync(picks, "4\n7\n9\n");
  const loaded = await loadProfile(ENV, "rt-none");
  const req = requestFor(loaded, { sweep: ["i=0..9"] }, { kind: "batch", argv: ["train.py"], explicit: false });
  const script = renderScript(req, runDir, { offset: 1, count: 2, picks });
  expect(script).toContain("#SBATCH --array=0-1\n");
  const file = join(runDir, "job-r1-1.sbatch");
  writeFileSync(file, script);
  const lint = spawnSync("shellcheck", ["-S", "warning", file], { encoding: "utf8" });
  expect(lint.stdout + lint.stderr).toBe("");
  const lines = script.slice(script.indexOf("# A resubmission"), script.indexOf("export HPCJOB_POINT"));
  const point = (task: string) =>
    spawnSync("bash", ["-c", `${lines}\necho "point=$HPCJOB_POINT"`], {
      env: { PATH: process.env.PATH ?? "", SLURM_ARRAY_TASK_ID: task },
      encoding: "utf8",
    });
  expect(point("0").stdout).toBe("point=7\n");
  expect(point("1").stdout).toBe("point=9\n");
  const missing = point("2");
  expect(missing.status).toBe(1);
  expect(missing.stderr).toContain(`hpcjob: task 2 has no point in ${picks}; the run directory is incomplete`);
});
