/**
 * `hpcjob batch`: a script or program in the container, as a batch job.
 */
import { UsageError } from "../core/errors.js";
import { quote } from "../core/quote.js";
import type { Payload } from "../request/build.js";
import type { JobRequest } from "../request/job.js";
import { pointWords } from "../request/sweep.js";
import { findRun, runFile } from "../runs/store.js";
import { type ArrayRecord, readArrays } from "../runs/sweep.js";
import { resubmitPoints } from "../session/arrays.js";
import { followLog } from "../session/follow.js";
import { type FailedPoint, followSweep, type TaskCounts } from "../session/sweepFollow.js";
import type { Context, Done } from "./context.js";
import { jobsExecutor } from "./jobs.js";
import { dryRunScript, plan, type SubmitFlags, submit } from "./submit.js";

/** Flags of `hpcjob batch`. */
export interface BatchFlags extends SubmitFlags {
  dryRun?: boolean;
  follow?: boolean;
  /** A sweep's run (job id, run name or directory) whose failed points to submit again. */
  resubmitFailed?: string;
}

/** A submitted batch job; with --follow also how it ended. */
export interface BatchJob {
  jobId: string;
  cluster: string;
  runDir: string;
  log: string;
  state?: string;
  exitCode?: number;
  /** A sweep: its number of points and the arrays that run them (`jobId` is the first's). */
  points?: number;
  arrays?: ArrayRecord[];
  /** A followed sweep: its tasks by state at the end, and the points that did not complete with exit code 0. */
  counts?: TaskCounts;
  failed?: FailedPoint[];
}

/** What `hpcjob batch` gives: the script of a dry run, or the job. */
export type BatchResult = { script: string } | BatchJob;

/** Points a dry run lists. */
const SHOWN_POINTS = 5;

/** A dry run's note on a sweep: how many points, how they reach the program, the first few. */
function sweepNote(req: JobRequest): string | undefined {
  const s = req.sweep;
  if (!s) return undefined;
  const first = s.points.slice(0, SHOWN_POINTS).map((p, i) => `\n  point ${i}: ${pointWords(s, p, quote)}`);
  const more = s.points.length > SHOWN_POINTS ? `\n  ... ${s.points.length - SHOWN_POINTS} more` : "";
  return `a sweep of ${s.points.length} points, one array task each (split into arrays of at most the cluster's MaxArraySize when submitted; the script is the first array's, for Slurm's default 1001); each task gets HPCJOB_PARAM_NAME and, after the program's arguments:${first.join("")}${more}`;
}

/**
 * Submit exactly the points of a sweep's run that did not complete with exit
 * code 0 (by the tasks' records), as new arrays over the same table, recorded
 * in the same run directory.
 */
async function resubmitFailed(ref: string, flags: BatchFlags, ctx: Context): Promise<Done<BatchResult>> {
  const exec = await jobsExecutor(flags, ctx);
  const run = await findRun(exec, await exec.home(), ref);
  const { readRecord, recordedRequest } = await import("../runs/record.js");
  const req = recordedRequest(await readRecord(exec, run.dir));
  const recorded = await readArrays(exec, run.dir);
  if (!req.sweep || !recorded) {
    throw new UsageError(`${run.dir} is not a sweep; submit it again whole with hpcjob rerun ${ref}`);
  }
  // Imported on use: the records' schema is zod, which lives in the files chunk (a dry run loads neither).
  const records = await (await import("../runs/tasks.js")).readTaskRecords(exec, run.dir);
  const failed = req.sweep.points.map((_, i) => i).filter((i) => records.get(i)?.exitCode !== 0);
  const job: BatchJob = { jobId: "", cluster: req.cluster, runDir: run.dir, log: `${run.dir}/logs/`, points: failed.length, arrays: [] };
  if (failed.length === 0) {
    ctx.report({
      kind: "note",
      text: `all ${req.sweep.points.length} points of ${run.dir} completed with exit code 0; nothing to resubmit`,
    });
    return { data: job };
  }
  const arrays = await resubmitPoints(exec, req, run.dir, failed, recorded);
  ctx.report({ kind: "note", text: `resubmitted ${failed.length} of ${req.sweep.points.length} points: ${failed.join(", ")}` });
  return { data: { ...job, jobId: arrays[0]?.jobId ?? "", arrays } };
}

/** "point 4 (lr=1e-4 seed=1): exit code 3; log: ...", for a point that failed. */
function failedLine(f: FailedPoint): string {
  const params = Object.entries(f.params)
    .map(([n, v]) => `${n}=${quote(v)}`)
    .join(" ");
  const how = f.exitCode !== undefined && f.state === "FAILED" ? `exit code ${f.exitCode}${f.signal ? ` (SIG${f.signal})` : ""}` : f.state;
  return `point ${f.index} (${params}) failed: ${how}${f.log ? `; log: ${f.log}` : ""}`;
}

/** Render, or submit (and with --follow stream the log and end with the job's exit code). */
export async function batch(argv: string[], explicit: boolean, flags: BatchFlags, ctx: Context): Promise<Done<BatchResult>> {
  if (flags.resubmitFailed !== undefined) {
    if (argv.length > 0) throw new UsageError(`--resubmit-failed runs the sweep's own program; drop "${argv.join(" ")}"`);
    return resubmitFailed(flags.resubmitFailed, flags, ctx);
  }
  if (argv.length === 0) throw new UsageError("give the program to run: hpcjob batch [options] train.py [its arguments]");
  const payload: Payload = { kind: "batch", argv, explicit };
  const p = await plan(flags, payload, ctx, Boolean(flags.dryRun));
  if (flags.dryRun) {
    const note = sweepNote(p.req);
    if (note) ctx.report({ kind: "note", text: note });
    return { data: { script: await dryRunScript(p, ctx) } };
  }
  const sub = await submit(p, ctx);
  const log = sub.arrays ? `${sub.runDir}/logs/` : runFile(sub.runDir, "log");
  const job: BatchJob = { jobId: sub.jobId, cluster: sub.req.cluster, runDir: sub.runDir, log };
  if (sub.arrays) {
    const swept: BatchJob = { ...job, points: sub.req.sweep?.points.length, arrays: sub.arrays };
    const sweep = sub.req.sweep;
    if (!flags.follow || !sweep) return { data: swept };
    ctx.report({ kind: "submitted", jobId: sub.arrays.map((a) => a.jobId).join(", "), runDir: sub.runDir });
    const end = await followSweep(sub.exec, sub.runDir, sweep, sub.arrays, { report: ctx.report, signal: ctx.signal });
    if (end.detached) {
      ctx.report({ kind: "note", text: `stopped following; the sweep's tasks keep running: hpcjob ps` });
      return { data: { ...swept, counts: end.counts }, exitCode: 130 };
    }
    for (const f of end.failed) ctx.report({ kind: "note", text: failedLine(f) });
    const c = end.counts;
    const total = swept.points ?? 0;
    ctx.report({
      kind: "note",
      text:
        end.failed.length === 0
          ? `sweep ended: all ${total} points completed with exit code 0`
          : `sweep ended: ${end.failed.length} of ${total} points failed (${c.done} done); resubmit them with hpcjob batch --resubmit-failed ${sub.runDir}`,
    });
    return { data: { ...swept, counts: c, failed: end.failed }, exitCode: end.failed.length === 0 ? 0 : 1 };
  }
  if (!flags.follow) return { data: job };
  ctx.report({ kind: "submitted", jobId: sub.jobId, runDir: sub.runDir });
  const end = await followLog(sub.exec, sub.jobId, sub.runDir, { write: ctx.stream, report: ctx.report, signal: ctx.signal });
  if (end.detached) {
    ctx.report({ kind: "note", text: `stopped following; job ${sub.jobId} keeps running: hpcjob logs -f ${sub.jobId}` });
  } else {
    ctx.report({ kind: "note", text: `job ${sub.jobId} ended: ${end.state}, exit code ${end.exitCode}` });
  }
  return { data: { ...job, state: end.state, exitCode: end.exitCode }, exitCode: end.exitCode };
}
