/**
 * `hpcjob batch`: a script or program in the container, as a batch job.
 */

import { runFile } from "../runs/store.js";
import { followLog } from "../session/follow.js";
import type { Context, Output } from "./context.js";
import { dryRunScript, prepareRequest, type SubmitFlags, submit } from "./submit.js";

/** Flags of `hpcjob batch`. */
export interface BatchFlags extends SubmitFlags {
  dryRun?: boolean;
  follow?: boolean;
}

/** Render, or submit (and with --follow stream the log and end with the job's exit code). */
export async function batch(argv: string[], explicit: boolean, flags: BatchFlags, ctx: Context): Promise<Output> {
  const { req, exec } = await prepareRequest(flags, { kind: "batch", argv, explicit }, ctx, !flags.dryRun);
  if (flags.dryRun || !exec) return { text: dryRunScript(req, ctx) };
  const sub = await submit(exec, req, ctx);
  const log = runFile(sub.runDir, "log");
  const json = { jobId: sub.jobId, cluster: req.cluster, runDir: sub.runDir, log };
  if (!flags.follow) {
    return {
      json,
      text: `submitted job ${sub.jobId}\n  run directory: ${sub.runDir}\n  log: ${log}\nFollow it with: hpcjob logs -f ${sub.jobId}`,
    };
  }
  ctx.report({ kind: "submitted", jobId: sub.jobId, runDir: sub.runDir });
  const end = await followLog(exec, sub.jobId, sub.runDir, { write: ctx.stream, report: ctx.report, signal: ctx.signal });
  if (end.detached) {
    ctx.report({ kind: "note", text: `stopped following; job ${sub.jobId} keeps running: hpcjob logs -f ${sub.jobId}` });
  } else {
    ctx.report({ kind: "note", text: `job ${sub.jobId} ended: ${end.state}, exit code ${end.exitCode}` });
  }
  return { json: { ...json, state: end.state, exitCode: end.exitCode }, exitCode: end.exitCode };
}
