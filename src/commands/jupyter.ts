/**
 * `hpcjob jupyter`: Jupyter on a compute node; prints the tunnel and URL.
 */
import type { Context, Output } from "../context.js";
import type { RequestFlags } from "../request/build.js";
import { parseDuration } from "../request/values.js";
import { awaitJupyter, connectionOutput } from "./connect.js";
import { dryRunScript, prepareRequest, submit } from "./submitOptions.js";

/** Flags of `hpcjob jupyter`. */
export interface JupyterFlags extends RequestFlags {
  dryRun?: boolean;
  timeout?: string;
  keep?: boolean;
}

/** Render, or submit and wait until Jupyter answers. */
export async function jupyter(flags: JupyterFlags, ctx: Context): Promise<Output> {
  const req = await prepareRequest(flags, { kind: "jupyter" }, ctx);
  if (flags.dryRun) return { text: dryRunScript(req, ctx) };
  const timeoutMs = flags.timeout === undefined ? undefined : parseDuration(flags.timeout);
  const exec = await ctx.executor();
  const sub = await submit(exec, req, ctx);
  ctx.report({ kind: "submitted", jobId: sub.jobId, runDir: sub.runDir });
  const conn = await awaitJupyter(exec, sub.jobId, sub.runDir, { timeoutMs, keep: Boolean(flags.keep), ctx });
  return connectionOutput(conn, { jobId: sub.jobId, cluster: req.cluster, runDir: sub.runDir, login: sub.login, command: req.command });
}
