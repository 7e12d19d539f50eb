/**
 * Submitting a sweep as job arrays that fit the cluster: its limits read
 * once from `scontrol show config`, the table split into arrays of at most
 * that many tasks, each array's script (its offset into the table in it)
 * written and sbatch'ed in turn over the one connection. An sbatch refusal
 * part-way cancels the arrays already submitted, and the error says so.
 */

import { posix } from "node:path";
import { isHpcjobError, SlurmError } from "../core/errors.js";
import type { Executor } from "../exec/executor.js";
import { renderScript } from "../render/render.js";
import type { SitedRequest } from "../request/job.js";
import { type ArrayRecord, type ArraysFile, arrayScript, writeArrays, writePicks, writeSweepTable } from "../runs/sweep.js";
import { type ArrayPart, arrayLimit, parseShowConfig, scancelArgv, scontrolShowConfigArgv, splitArrays } from "../slurm/index.js";
import { tail } from "./ended.js";
import { sbatchScript } from "./sbatch.js";

/** The most tasks one array may have on this cluster (MaxArraySize, max_array_tasks), asked once. */
async function clusterArrayLimit(exec: Executor): Promise<number> {
  const r = await exec.run(scontrolShowConfigArgv());
  if (r.code !== 0) {
    const said = tail(r.stderr.trim() || r.stdout.trim(), 5);
    throw new SlurmError(`scontrol show config failed, so the cluster's MaxArraySize is unknown: ${said.at(-1) ?? `exit ${r.code}`}`, said);
  }
  const limit = arrayLimit(parseShowConfig(r.stdout));
  if (limit < 1)
    throw new SlurmError("this cluster allows no job arrays (MaxArraySize or max_array_tasks is 0); run the points as separate jobs");
  return limit;
}

/** Cancel what was submitted before a refusal; the words for the error that says so. */
async function cancelSubmitted(exec: Executor, done: readonly ArrayRecord[]): Promise<string> {
  if (done.length === 0) return "nothing was submitted";
  const ids = done.map((a) => a.jobId);
  const what = `the ${ids.length === 1 ? "array" : "arrays"} submitted before it (${ids.join(", ")})`;
  const r = await exec.run(scancelArgv(ids)).catch((e: Error) => ({ code: -1, stderr: e.message }));
  return r.code === 0 ? `cancelled ${what}` : `could not cancel ${what} (${r.stderr.trim()}); cancel them with scancel ${ids.join(" ")}`;
}

/**
 * Write the sweep's table into `runDir` and submit it as arrays (held with
 * --hold); returns them in order, as recorded in arrays.json. The first
 * array's script is job.sbatch.
 */
export async function submitArrays(exec: Executor, req: SitedRequest, runDir: string): Promise<ArrayRecord[]> {
  const sweep = req.sweep;
  if (!sweep) throw new Error("submitArrays needs a request with a sweep");
  await writeSweepTable(exec, runDir, sweep);
  const parts = splitArrays(sweep.points.length, await clusterArrayLimit(exec));
  const done = await submitParts(exec, req, runDir, parts, (part) => arrayScript(runDir, part.offset));
  await writeArrays(exec, runDir, { points: sweep.points.length, arrays: done });
  return done;
}

/**
 * Submit exactly `points` of a sweep again, in its run directory, as arrays
 * over the same table: their indices go to resubmit-N.points (task T of the
 * array at offset O runs the point on line O + T + 1), the scripts are
 * job-rN-OFFSET.sbatch, and arrays.json gains the new arrays.
 */
export async function resubmitPoints(
  exec: Executor,
  req: SitedRequest,
  runDir: string,
  points: readonly number[],
  recorded: ArraysFile,
): Promise<ArrayRecord[]> {
  const round = new Set(recorded.arrays.flatMap((a) => (a.picks ? [a.picks] : []))).size + 1;
  const picks = posix.join(runDir, `resubmit-${round}.points`);
  await writePicks(exec, picks, points);
  const parts = splitArrays(points.length, await clusterArrayLimit(exec)).map((p) => ({ ...p, picks }));
  const done = await submitParts(exec, req, runDir, parts, (part) => arrayScript(runDir, part.offset, round));
  await writeArrays(exec, runDir, { points: recorded.points, arrays: [...recorded.arrays, ...done] });
  return done;
}

/** Write each part's script and sbatch it; a refusal part-way cancels the arrays before it. */
async function submitParts(
  exec: Executor,
  req: SitedRequest,
  runDir: string,
  parts: ArrayPart[],
  scriptOf: (part: ArrayPart) => string,
): Promise<ArrayRecord[]> {
  const done: ArrayRecord[] = [];
  for (const part of parts) {
    const script = scriptOf(part);
    await exec.writeFile(script, renderScript(req, runDir, part), 0o600);
    let jobId: string;
    try {
      jobId = await sbatchScript(exec, script);
    } catch (e) {
      if (!isHpcjobError(e) || done.length === 0) throw e;
      throw new SlurmError(`${e.message}; ${await cancelSubmitted(exec, done)}`, e.evidence);
    }
    done.push({ jobId, ...part, script });
  }
  return done;
}
