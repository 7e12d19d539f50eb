/**
 * Waiting for a Jupyter job and presenting the connection: shared by
 * `jupyter` (after submitting) and `attach` (a job submitted earlier).
 */

import { HpcjobError } from "../core/errors.js";
import type { LoginTarget } from "../core/login.js";
import type { Executor } from "../exec/executor.js";
import { type Connection, runFile } from "../runs/store.js";
import { tunnelFor } from "../session/tunnel.js";
import { WaitStopped, waitForJupyter } from "../session/wait.js";
import { scancelArgv } from "../slurm/index.js";
import type { Context } from "./context.js";

/**
 * Wait for the job's Jupyter. On Ctrl-C or timeout the job is cancelled and
 * that is said, unless `keep` (then it says how to attach later).
 */
export async function awaitJupyter(
  exec: Executor,
  jobId: string,
  runDir: string,
  opts: { timeoutMs?: number; keep: boolean; ctx: Context },
): Promise<Connection> {
  try {
    return await waitForJupyter(exec, jobId, runDir, { timeoutMs: opts.timeoutMs, signal: opts.ctx.signal, report: opts.ctx.report });
  } catch (e) {
    if (!(e instanceof WaitStopped)) throw e;
    if (opts.keep) {
      throw new HpcjobError(`${e.message}; job ${jobId} keeps running: reconnect with hpcjob attach ${jobId}`, e.exitCode);
    }
    throw new HpcjobError(`${e.message}; ${await cancelJob(exec, jobId)} (--keep leaves it running)`, e.exitCode);
  }
}

/** Cancel a job hpcjob gave up on, and say how that went ("cancelled job 7", or why not and what to do). */
export async function cancelJob(exec: Executor, jobId: string): Promise<string> {
  const r = await exec.run(scancelArgv([jobId]));
  return r.code === 0 ? `cancelled job ${jobId}` : `could not cancel job ${jobId} (${r.stderr.trim()}); cancel it with scancel ${jobId}`;
}

/** A running Jupyter as `jupyter` and `attach` give it: where it runs, the tunnel and URL (for `localPort`), its files. */
export interface JupyterConnection {
  jobId: string;
  cluster: string;
  node: string;
  port: number;
  token: string;
  url: string;
  tunnel: string;
  runDir: string;
  log: string;
}

/** The connection to a job's Jupyter, with the tunnel and URL for a local port (Jupyter's own by default). */
export function jupyterConnection(
  conn: Connection,
  info: { jobId: string; cluster: string; runDir: string; login: LoginTarget; command: readonly string[] },
  localPort = conn.port,
): JupyterConnection {
  const t = tunnelFor(conn, info.login, info.command, localPort);
  return {
    jobId: info.jobId,
    cluster: info.cluster,
    node: conn.node,
    port: conn.port,
    token: conn.token,
    url: t.url,
    tunnel: t.command,
    runDir: info.runDir,
    log: runFile(info.runDir, "log"),
  };
}
