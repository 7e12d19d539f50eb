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
import { runsRoot } from "../runs/paths.js";
import { findRun, runFile } from "../runs/store.js";
import { POINTS_FILE, runDirOfScript, scriptArray } from "../runs/sweep.js";
import type { TaskRecord } from "../runs/tasks.js";
import { followLog } from "../session/follow.js";
import type { TaskCounts } from "../session/sweepFollow.js";
import {
  arrayTasks,
  isPending,
  isRunning,
  isTerminal,
  parseSacctHistory,
  parseSqueue,
  type QueueEntry,
  sacctHistoryArgv,
  scancelArgv,
  squeueUserArgv,
} from "../slurm/index.js";
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
  /** A sweep's array (one row): its tasks by state, and each task (--json). */
  counts?: TaskCounts;
  tasks?: TaskRow[];
}

/** One task of an array as `ps --json` lists it. */
export interface TaskRow {
  task: number;
  /** The point of the sweep it runs (unknown for a resubmission's task until it has recorded its end). */
  point?: number;
  state: string;
  /** From the task's own record, once its program has ended. */
  exitCode?: number;
}

/** The first point of the array whose script is `script` (its OFFSET; 0 for job.sbatch), undefined for a resubmission's (its points are listed in a file). */
function offsetOf(script: string | undefined): number | undefined {
  const a = scriptArray(script);
  return a?.round === undefined ? (a?.offset ?? 0) : undefined;
}

/**
 * The where column of a row for these entries (a job's, or an array's):
 * the nodes they hold (running, or CONFIGURING); else why they wait; else,
 * when all have ended (from sacct), the nodes they ran on; "-" when none of
 * that is known. Slurm says "None" for no reason, which is not shown.
 */
function whereOf(entries: readonly QueueEntry[]): string {
  const nodes = (of: readonly QueueEntry[]) => [...new Set(of.flatMap((e) => (e.node ? [e.node] : [])))].join(",");
  const holding = nodes(entries.filter((e) => !isTerminal(e.state)));
  if (holding) return holding;
  const waiting = entries.find((e) => isPending(e.state) && e.reason && e.reason !== "None");
  if (waiting) return `(${waiting.reason})`;
  return nodes(entries.filter((e) => isTerminal(e.state))) || "-";
}

/**
 * One row for an array's entries (123_4, 123_[5-9]): its tasks' states from
 * squeue, the ended ones' exit codes from their records (tasks/POINT.json),
 * where squeue has forgotten them too; the state column holds the counts.
 */
function arrayRow(arrayId: string, entries: QueueEntry[], records: ReadonlyMap<number, TaskRecord>): JobRow {
  const first = entries[0] as QueueEntry;
  const offset = offsetOf(first.script);
  const tasks = new Map<number, TaskRow>();
  for (const r of records.values()) {
    if (r.arrayJobId === arrayId)
      tasks.set(Number(r.taskId), {
        task: Number(r.taskId),
        point: r.index,
        state: r.exitCode === 0 ? "COMPLETED" : "FAILED",
        exitCode: r.exitCode,
      });
  }
  for (const e of entries) {
    for (const task of arrayTasks(e.jobId).tasks) {
      const recorded = tasks.get(task);
      if (recorded && isTerminal(e.state)) continue;
      tasks.set(task, { task, ...(offset === undefined ? {} : { point: offset + task }), state: e.state });
    }
  }
  const rows = [...tasks.values()].sort((a, b) => a.task - b.task);
  const counts: TaskCounts = { pending: 0, running: 0, done: 0, failed: 0 };
  for (const t of rows) {
    if (isPending(t.state)) counts.pending++;
    else if (!isTerminal(t.state)) counts.running++;
    else if (t.state === "COMPLETED" && (t.exitCode ?? 0) === 0) counts.done++;
    else counts.failed++;
  }
  return {
    jobId: arrayId,
    name: first.name,
    state: `ARRAY ${counts.pending} pending, ${counts.running} running, ${counts.done} done, ${counts.failed} failed`,
    time: entries.find((e) => isRunning(e.state))?.timeUsed ?? first.timeUsed,
    where: whereOf(entries),
    runDir: runDirOfScript(first.script),
    counts,
    tasks: rows,
  };
}

/** How far back `ps --all` asks accounting: a week of finished jobs. */
export const PS_ALL_SINCE = "now-7days";

/** Flags of `ps`. */
export interface PsFlags extends JobsFlags {
  /** Also the jobs that have ended and left the queue, from accounting (sacct). */
  all?: boolean;
}

/**
 * The jobs of `user` that accounting knows and squeue no longer lists
 * (hpcjob's: tagged with its comment where the site stores comments, else
 * submitted from a run directory); undefined when sacct does not answer.
 */
async function endedJobs(exec: Executor, user: string, listed: ReadonlySet<string>): Promise<QueueEntry[] | undefined> {
  const r = await exec.run(sacctHistoryArgv(user, PS_ALL_SINCE));
  if (r.code !== 0) return undefined;
  const runs = `${runsRoot(await exec.home())}/`;
  return parseSacctHistory(r.stdout).filter(
    (e) => !listed.has(e.jobId) && (e.comment === JOB_COMMENT || (e.script?.startsWith(runs) && runDirOfScript(e.script) !== undefined)),
  );
}

/** The jobs hpcjob started that Slurm still lists, with their run directories; with --all also the ended ones accounting knows. */
export async function ps(flags: PsFlags, ctx: Context): Promise<Done<JobRow[]>> {
  const exec = await jobsExecutor(flags, ctx);
  const user = (await exec.login()).user ?? "";
  const r = await exec.run(squeueUserArgv(user));
  if (r.code !== 0) throw new SlurmError(`squeue failed (exit ${r.code})`, r.stderr.trim().split("\n"));
  const queued = parseSqueue(r.stdout).filter((e) => e.comment === JOB_COMMENT);
  if (flags.all) {
    const ended = await endedJobs(exec, user, new Set(queued.map((e) => e.jobId)));
    if (ended === undefined)
      ctx.report({ kind: "note", text: "sacct did not answer (no accounting here?): only the jobs Slurm still lists are shown" });
    else queued.push(...ended.sort((a, b) => jobOrder(a.jobId) - jobOrder(b.jobId)));
  }
  const jobs: JobRow[] = [];
  // A sweep's arrays: one row each, in the place of its first task.
  const arrays = new Map<string, QueueEntry[]>();
  for (const j of queued) {
    const { arrayId, tasks } = arrayTasks(j.jobId);
    if (tasks.length === 0) {
      jobs.push({
        jobId: j.jobId,
        name: j.name,
        state: j.state,
        time: j.timeUsed,
        where: whereOf([j]),
        runDir: runDirOfScript(j.script),
      });
      continue;
    }
    const group = arrays.get(arrayId);
    if (group) group.push(j);
    else {
      arrays.set(arrayId, [j]);
      jobs.push({ jobId: arrayId, name: "", state: "", time: "", where: "" });
    }
  }
  // The tasks' records: one read per run directory, however many arrays it has.
  const records = new Map<string, Map<number, TaskRecord>>();
  for (const [arrayId, entries] of arrays) {
    const dir = runDirOfScript(entries[0]?.script);
    // Imported on use: the records' schema is zod, which lives in the files chunk (a dry run loads neither).
    if (dir !== undefined && !records.has(dir)) records.set(dir, await (await import("../runs/tasks.js")).readTaskRecords(exec, dir));
    const at = jobs.findIndex((j) => j.jobId === arrayId && j.state === "");
    jobs[at] = arrayRow(arrayId, entries, (dir && records.get(dir)) || new Map());
  }
  return { data: jobs };
}

/** A job id's number, for listing ended jobs oldest first (an array's tasks under its id). */
function jobOrder(jobId: string): number {
  return Number(arrayTasks(jobId).arrayId) || 0;
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
