/**
 * `hpcjob jupyter`: Jupyter on a compute node; prints the tunnel and URL, or
 * with --tunnel opens the tunnel itself and keeps it up until Ctrl-C.
 */

import { UsageError } from "../core/errors.js";
import { parseDuration } from "../core/values.js";
import { openBrowser } from "../exec/browser.js";
import type { Executor } from "../exec/executor.js";
import type { SshExecutor } from "../exec/ssh/executor.js";
import type { Connection } from "../runs/store.js";
import { awaitJupyter, cancelJob, connectionOutput } from "./connect.js";
import type { Context, Output } from "./context.js";
import { dryRunScript, prepareRequest, type SubmitFlags, submit } from "./submit.js";

/** Flags of `hpcjob jupyter`. */
export interface JupyterFlags extends SubmitFlags {
  dryRun?: boolean;
  timeout?: string;
  keep?: boolean;
  tunnel?: boolean;
  open?: boolean;
  json?: boolean;
}

/** Render, or submit and wait until Jupyter answers. */
export async function jupyter(flags: JupyterFlags, ctx: Context): Promise<Output> {
  if (flags.open && !flags.tunnel)
    throw new UsageError("--open needs --tunnel: the browser can only reach Jupyter through hpcjob's own tunnel");
  const timeoutMs = flags.timeout === undefined ? undefined : parseDuration(flags.timeout);
  const { req, exec } = await prepareRequest(flags, { kind: "jupyter" }, ctx, !flags.dryRun);
  if (flags.dryRun || !exec) return { text: dryRunScript(req, ctx) };
  if (flags.tunnel && exec.kind !== "ssh") {
    throw new UsageError(
      "--tunnel is for running hpcjob on your own computer; on the login node, run the printed ssh command on your computer instead",
    );
  }
  const sub = await submit(exec, req, ctx);
  ctx.report({ kind: "submitted", jobId: sub.jobId, runDir: sub.runDir });
  const conn = await awaitJupyter(exec, sub.jobId, sub.runDir, { timeoutMs, keep: Boolean(flags.keep), ctx });
  const info = { jobId: sub.jobId, cluster: req.cluster, runDir: sub.runDir, login: sub.login, command: req.command };
  if (!flags.tunnel) return connectionOutput(conn, info);
  return holdTunnel(exec, conn, info, flags, ctx);
}

/**
 * Forward a local port to Jupyter through the SSH connection, print the local
 * URL (and open it), and keep the tunnel until Ctrl-C; then cancel the job
 * unless --keep.
 */
async function holdTunnel(
  exec: Executor,
  conn: Connection,
  info: Parameters<typeof connectionOutput>[1],
  flags: JupyterFlags,
  ctx: Context,
): Promise<Output> {
  const forward = await (exec as SshExecutor).forward(conn.port, conn.node, conn.port);
  const shown = connectionOutput(conn, info, forward.port);
  const url = (shown.json as { url: string }).url;
  if (flags.json) ctx.stream(`${JSON.stringify({ ...(shown.json as object), localPort: forward.port }, null, 2)}\n`);
  else
    ctx.stream(
      `Jupyter is running on ${conn.node} (job ${info.jobId}); hpcjob holds the tunnel. Open:\n  ${url}\nCtrl-C closes the tunnel and ${flags.keep ? "leaves the job running" : "cancels the job"}.\n`,
    );
  if (flags.open && !(await openBrowser(url)))
    ctx.report({ kind: "note", text: "could not start a browser (xdg-open/open); open the URL yourself" });
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) return resolve();
    ctx.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  await forward.close();
  if (flags.keep) {
    ctx.report({ kind: "note", text: `tunnel closed; job ${info.jobId} keeps running: hpcjob attach ${info.jobId}` });
  } else {
    ctx.report({ kind: "note", text: `tunnel closed; ${await cancelJob(exec, info.jobId)}` });
  }
  return {};
}
