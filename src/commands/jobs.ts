/**
 * The daily loop around submitted jobs: `ps`, `logs`, `cancel`, `attach`.
 */
import { posix } from "node:path";
import { SlurmError, UsageError } from "../core/errors.js";
import { parseDuration } from "../core/values.js";
import type { Executor } from "../exec/executor.js";
import type { ConnectionFlags } from "../exec/placement.js";
import { TASK_LOGS } from "../request/sbatch.js";
import { clusterProfile } from "../request/sources.js";
import { findRun, runFile } from "../runs/store.js";
import { POINTS_FILE, runDirOfScript } from "../runs/sweep.js";
import { followLog } from "../session/follow.js";
import { parseSqueue, scancelArgv, squeueUserArgv } from "../slurm/index.js";
import { JOB_COMMENT } from "../slurm/sbatch.js";
import { awaitJupyter, type JupyterConnection, jupyterConnection } from "./connect.js";
import type { Context, Done } from "./context.js";
import { placementFor } from "./where.js";

/** Flags of the commands that look at jobs: which cluster, and how to reach it. */
export interface JobsFlags extends ConnectionFlags {
  cluster?: string;
}

/**
 * The executor for a jobs command: local Slurm when it is the --cluster's (or
 * the default cluster's, or no cluster is chosen), else that cluster's login node.
 */
export async function jobsExecutor(flags: JobsFlags, ctx: Context): Promise<Executor> {
  const { profile, user } = await clusterProfile(ctx, flags.cluster);
  return ctx.connect(await placementFor(flags, profile, user, ctx));
}

/** One hpcjob job as `ps` lists it. */
export interface JobRow {
  jobId: string;
  name: string;
  state: string;
  time: string;
  /** The node, or the pending reason in parentheses. */
  where: string;
  runDir?: string;
}

/** The jobs hpcjob started that Slurm still lists, with their run directories. */
export async function ps(flags: JobsFlags, ctx: Context): Promise<Done<JobRow[]>> {
  const exec = await jobsExecutor(flags, ctx);
  const r = await exec.run(squeueUserArgv((await exec.login()).user ?? ""));
  if (r.code !== 0) throw new SlurmError(`squeue failed (exit ${r.code})`, r.stderr.trim().split("\n"));
  const jobs = parseSqueue(r.stdout)
    .filter((j) => j.comment === JOB_COMMENT)
    .map((j) => ({
      jobId: j.jobId,
      name: j.name,
      state: j.state,
      time: j.timeUsed,
      where: j.node ?? `(${j.reason})`,
      // A sweep's later arrays have scripts of their own: job-OFFSET.sbatch.
      runDir: runDirOfScript(j.script),
    }));
  return { data: jobs };
}

/** A job's log: streamed as it is, or followed until the job ends (-f) and ended with its exit code. */
export async function logs(ref: string, flags: JobsFlags & { follow?: boolean }, ctx: Context): Promise<Done<undefined>> {
  const exec = await jobsExecutor(flags, ctx);
  const run = await findRun(exec, await exec.home(), ref);
  if (await exec.stat(posix.join(run.dir, POINTS_FILE))) {
    throw new UsageError(
      `${run.dir} is a sweep: each task logs to ${posix.join(run.dir, TASK_LOGS)}/ARRAYJOBID_TASKID.log (arrays.json says which array runs which points); read those`,
    );
  }
  const log = runFile(run.dir, "log");
  if (!flags.follow) {
    const text = await exec.readFile(log);
    if (text === undefined) throw new UsageError(`${log} does not exist yet: the job has not started; hpcjob logs -f ${ref} waits for it`);
    ctx.stream(text);
    return { data: undefined };
  }
  if (!run.jobId) throw new UsageError(`${run.dir} has no job id: it was never submitted`);
  const end = await followLog(exec, run.jobId, run.dir, { write: ctx.stream, report: ctx.report, signal: ctx.signal });
  return end.detached ? { data: undefined } : { data: undefined, exitCode: end.exitCode };
}

/** A job hpcjob cancelled. */
export interface Cancelled {
  jobId: string;
  runDir: string;
  cancelled: true;
}

/** Cancel a job hpcjob started. */
export async function cancel(ref: string, flags: JobsFlags, ctx: Context): Promise<Done<Cancelled>> {
  const exec = await jobsExecutor(flags, ctx);
  const run = await findRun(exec, await exec.home(), ref);
  if (!run.jobId) throw new UsageError(`${run.dir} has no job id: it was never submitted`);
  const r = await exec.run(scancelArgv([run.jobId]));
  if (r.code !== 0) throw new SlurmError(`scancel ${run.jobId} failed (exit ${r.code})`, r.stderr.trim().split("\n"));
  return { data: { jobId: run.jobId, runDir: run.dir, cancelled: true } };
}

/** The tunnel and URL of a Jupyter job submitted earlier, waiting if it is not ready yet. */
export async function attach(ref: string, flags: JobsFlags & { timeout?: string }, ctx: Context): Promise<Done<JupyterConnection>> {
  const timeoutMs = flags.timeout === undefined ? undefined : parseDuration(flags.timeout);
  const exec = await jobsExecutor(flags, ctx);
  const run = await findRun(exec, await exec.home(), ref);
  if (!run.jobId) throw new UsageError(`${run.dir} is not a submitted hpcjob job (no job.id)`);
  const summary = await (await import("../runs/record.js")).readSummary(exec, run.dir);
  if (summary.kind !== "jupyter") throw new UsageError(`job ${run.jobId} is a batch job; see its output with hpcjob logs ${run.jobId}`);
  const conn = await awaitJupyter(exec, run.jobId, run.dir, { timeoutMs, keep: true, ctx });
  return {
    data: jupyterConnection(conn, {
      jobId: run.jobId,
      cluster: summary.cluster,
      runDir: run.dir,
      login: summary.login,
      command: summary.command,
    }),
  };
}
