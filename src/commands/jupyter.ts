/**
 * `hpcjob jupyter`: Jupyter on a compute node; gives the tunnel and URL, or
 * with --tunnel opens the tunnel itself and keeps it up until Ctrl-C.
 */
import { UsageError } from "../core/errors.js";
import { parseDuration } from "../core/values.js";
import { openBrowser } from "../exec/browser.js";
import type { Executor } from "../exec/executor.js";
import type { Connection } from "../runs/store.js";
import { awaitJupyter, cancelJob, type JupyterConnection, jupyterConnection } from "./connect.js";
import type { Context, Done } from "./context.js";
import { dryRunScript, executorFor, plan, type SubmitFlags, submit } from "./submit.js";

/** Flags of `hpcjob jupyter`. */
export interface JupyterFlags extends SubmitFlags {
  dryRun?: boolean;
  timeout?: string;
  keep?: boolean;
  tunnel?: boolean;
  open?: boolean;
}

/** The tunnel hpcjob holds itself (--tunnel): the connection through a local port, until Ctrl-C. */
export interface HeldTunnel extends JupyterConnection {
  localPort: number;
  /** Ctrl-C leaves the job running (--keep) rather than cancelling it. */
  keep: boolean;
}

/** What `hpcjob jupyter` gives: the script of a dry run, or the running Jupyter. */
export type JupyterResult = { script: string } | JupyterConnection;

/** Render, or submit and wait until Jupyter answers. */
export async function jupyter(flags: JupyterFlags, ctx: Context): Promise<Done<JupyterResult | undefined>> {
  if (flags.open && !flags.tunnel)
    throw new UsageError("--open needs --tunnel: the browser can only reach Jupyter through hpcjob's own tunnel");
  const timeoutMs = flags.timeout === undefined ? undefined : parseDuration(flags.timeout);
  const p = await plan(flags, { kind: "jupyter" }, ctx, Boolean(flags.dryRun));
  if (flags.dryRun) return { data: { script: await dryRunScript(p, ctx) } };
  if (flags.tunnel && !(await executorFor(p, ctx)).forward) {
    throw new UsageError(
      "--tunnel is for running hpcjob on your own computer; on the login node, run the printed ssh command on your computer instead",
    );
  }
  const sub = await submit(p, ctx);
  ctx.report({ kind: "submitted", jobId: sub.jobId, runDir: sub.runDir });
  const conn = await awaitJupyter(sub.exec, sub.jobId, sub.runDir, { timeoutMs, keep: Boolean(flags.keep), ctx });
  const info = { jobId: sub.jobId, cluster: sub.req.cluster, runDir: sub.runDir, login: sub.login, command: sub.req.command };
  if (!flags.tunnel) return { data: jupyterConnection(conn, info) };
  await holdTunnel(sub.exec, conn, info, flags, ctx);
  return { data: undefined };
}

/**
 * Forward a local port to Jupyter through the SSH connection, show the local
 * URL (and open it), and keep the tunnel until Ctrl-C; then cancel the job
 * unless --keep.
 */
async function holdTunnel(
  exec: Executor,
  conn: Connection,
  info: Parameters<typeof jupyterConnection>[1],
  flags: JupyterFlags,
  ctx: Context,
): Promise<void> {
  // Checked before submitting: this executor forwards.
  const forward = await exec.forward?.(conn.port, conn.node, conn.port);
  if (!forward) throw new Error("holdTunnel needs an executor that forwards ports");
  const held: HeldTunnel = { ...jupyterConnection(conn, info, forward.port), localPort: forward.port, keep: Boolean(flags.keep) };
  ctx.show(held);
  if (flags.open && !(await openBrowser(held.url)))
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
}
