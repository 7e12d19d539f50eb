/**
 * `hpcjob batch`: a script or program in the container, as a batch job.
 */
import { UsageError } from "../core/errors.js";
import { quote } from "../core/quote.js";
import type { Payload } from "../request/build.js";
import type { JobRequest } from "../request/job.js";
import { pointWords } from "../request/sweep.js";
import { runFile } from "../runs/store.js";
import type { ArrayRecord } from "../runs/sweep.js";
import { followLog } from "../session/follow.js";
import type { Context, Done } from "./context.js";
import { dryRunScript, plan, type SubmitFlags, submit } from "./submit.js";

/** Flags of `hpcjob batch`. */
export interface BatchFlags extends SubmitFlags {
  dryRun?: boolean;
  follow?: boolean;
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

/** Render, or submit (and with --follow stream the log and end with the job's exit code). */
export async function batch(argv: string[], explicit: boolean, flags: BatchFlags, ctx: Context): Promise<Done<BatchResult>> {
  const payload: Payload = { kind: "batch", argv, explicit };
  const p = await plan(flags, payload, ctx, Boolean(flags.dryRun));
  if (p.req.sweep && flags.follow) {
    throw new UsageError("--follow does not watch a sweep yet; submit without --follow and see its tasks with hpcjob ps");
  }
  if (flags.dryRun) {
    const note = sweepNote(p.req);
    if (note) ctx.report({ kind: "note", text: note });
    return { data: { script: await dryRunScript(p, ctx) } };
  }
  const sub = await submit(p, ctx);
  const log = sub.arrays ? `${sub.runDir}/logs/` : runFile(sub.runDir, "log");
  const job: BatchJob = { jobId: sub.jobId, cluster: sub.req.cluster, runDir: sub.runDir, log };
  if (sub.arrays) return { data: { ...job, points: sub.req.sweep?.points.length, arrays: sub.arrays } };
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
