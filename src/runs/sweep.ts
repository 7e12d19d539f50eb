/**
 * A sweep's files in its run directory: the table of points (points.jsonl,
 * one JSON line per point: its index and parameters), the values the job
 * script reads (points.nul), the task logs' folder, and the record of the
 * arrays submitted (arrays.json: job id, offset and count of each), which
 * is how `ps`, a watcher and a resubmission find every task.
 */
import { posix } from "node:path";
import { ExecError } from "../core/errors.js";
import type { Executor } from "../exec/executor.js";
import { TASK_LOGS } from "../request/sbatch.js";
import { POINT_VALUES_FILE, type Sweep } from "../request/sweep.js";
import { RUN_FILES } from "./store.js";

/** The table of points, for people and tools. */
export const POINTS_FILE = "points.jsonl";
/** The arrays submitted for a sweep. */
export const ARRAYS_FILE = "arrays.json";

/**
 * One array submitted for a sweep: its job id, and the points it runs
 * (offset + task id, tasks 0 .. count - 1; for a resubmission the points on
 * those lines of its `picks` file).
 */
export interface ArrayRecord {
  jobId: string;
  offset: number;
  count: number;
  picks?: string;
  /** Its script, in the run directory. */
  script: string;
}

/** What arrays.json holds. */
export interface ArraysFile {
  points: number;
  arrays: ArrayRecord[];
}

/** The table's lines: `{"index":N,"params":{NAME:VALUE,...}}`, one per point. */
export function pointsJsonl(sweep: Sweep): string {
  return sweep.points
    .map((values, index) => JSON.stringify({ index, params: Object.fromEntries(sweep.names.map((n, i) => [n, values[i]])) }))
    .map((line) => `${line}\n`)
    .join("");
}

/** Every point's values in the names' order, each ended by a NUL byte: what the job script reads with mapfile -d ''. */
export function pointValues(sweep: Sweep): Buffer {
  return Buffer.from(sweep.points.map((values) => values.map((v) => `${v}\0`).join("")).join(""), "utf8");
}

/** Write the table, its values for the script and the task logs' folder into a run directory, before anything is submitted. */
export async function writeSweepTable(exec: Executor, runDir: string, sweep: Sweep): Promise<void> {
  await exec.writeFile(posix.join(runDir, POINTS_FILE), pointsJsonl(sweep), 0o600);
  await exec.writeFile(posix.join(runDir, POINT_VALUES_FILE), pointValues(sweep), 0o600);
  await exec.mkdir(posix.join(runDir, TASK_LOGS), 0o700);
}

/** Write `text` to a run file whole or not at all: beside it as FILE.partial, then renamed over it (a reader never sees half). */
async function writeWhole(exec: Executor, file: string, text: string): Promise<void> {
  const partial = `${file}.partial`;
  await exec.writeFile(partial, text, 0o600);
  const r = await exec.run(["mv", "-f", partial, file]);
  if (r.code !== 0) throw new ExecError(`could not rename ${partial} to ${file}; check the run directory's permissions`, [r.stderr.trim()]);
}

/** Record the arrays submitted, whole or not at all: written beside arrays.json and renamed over it. */
export async function writeArrays(exec: Executor, runDir: string, record: ArraysFile): Promise<void> {
  await writeWhole(exec, posix.join(runDir, ARRAYS_FILE), `${JSON.stringify(record, null, 2)}\n`);
}

/** The arrays.json of a sweep's run directory; undefined when it has none (not a sweep, or never submitted). */
export async function readArrays(exec: Executor, runDir: string): Promise<ArraysFile | undefined> {
  const file = posix.join(runDir, ARRAYS_FILE);
  const text = await exec.readFile(file);
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ExecError(`${file} is not JSON; the run directory is damaged`);
  }
  const f = parsed as Partial<ArraysFile>;
  if (typeof f.points !== "number" || !Array.isArray(f.arrays))
    throw new ExecError(`${file} is not a record of arrays; the run directory is damaged`);
  return f as ArraysFile;
}

/** Write a resubmission's list of point indices, one a line, whole: beside and renamed over. */
export async function writePicks(exec: Executor, file: string, points: readonly number[]): Promise<void> {
  await writeWhole(exec, file, points.map((p) => `${p}\n`).join(""));
}

/**
 * The script of a sweep's array: job.sbatch (the run's script) for the first
 * array, job-OFFSET.sbatch for the others; a resubmission's (round N)
 * job-rN-OFFSET.sbatch, its OFFSET a line of its list of points.
 */
export function arrayScript(runDir: string, offset: number, round?: number): string {
  if (round !== undefined) return posix.join(runDir, RUN_FILES.script.replace(/\.sbatch$/, `-r${round}-${offset}.sbatch`));
  return posix.join(runDir, offset === 0 ? RUN_FILES.script : RUN_FILES.script.replace(/\.sbatch$/, `-${offset}.sbatch`));
}

/** What a script's name says (arrayScript read back): its run directory, offset and resubmission round; undefined for a script hpcjob did not write. */
export function scriptArray(script: string | undefined): { runDir: string; offset: number; round?: number } | undefined {
  if (script === undefined) return undefined;
  const runDir = posix.dirname(script);
  const m = /^job(?:-r(\d+))?(?:-(\d+))?\.sbatch$/.exec(posix.basename(script));
  if (!m) return undefined;
  const round = m[1] === undefined ? undefined : Number(m[1]);
  const offset = Number(m[2] ?? 0);
  return arrayScript(runDir, offset, round) === script ? { runDir, offset, ...(round === undefined ? {} : { round }) } : undefined;
}

/** The run directory of a job whose script is `script` (a run's job.sbatch, or a sweep's other arrays'); undefined for a script hpcjob did not write. */
export function runDirOfScript(script: string | undefined): string | undefined {
  return scriptArray(script)?.runDir;
}
