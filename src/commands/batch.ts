/**
 * `hpcjob batch`: a script or program in the container, as a batch job.
 */
import type { Payload } from "../request/build.js";
import { runFile } from "../runs/store.js";
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
}

/** What `hpcjob batch` gives: the script of a dry run, or the job. */
export type BatchResult = { script: string } | BatchJob;

/** Render, or submit (and with --follow stream the log and end with the job's exit code). */
export async function batch(argv: string[], explicit: boolean, flags: BatchFlags, ctx: Context): Promise<Done<BatchResult>> {
  const payload: Payload = { kind: "batch", argv, explicit };
  const p = await plan(flags, payload, ctx, Boolean(flags.dryRun));
  if (flags.dryRun) return { data: { script: await dryRunScript(p, ctx) } };
  const sub = await submit(p, ctx);
  const job: BatchJob = { jobId: sub.jobId, cluster: sub.req.cluster, runDir: sub.runDir, log: runFile(sub.runDir, "log") };
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
