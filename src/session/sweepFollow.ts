/**
 * Following a sweep (`batch --sweep ... --follow`): the one job watcher over
 * all its arrays (one squeue call per poll for every task), with the tasks'
 * own records (tasks/POINT.json) read between polls. Counts of pending,
 * running, done and failed tasks are reported as they change; at the end
 * each point's outcome comes from its record, else from sacct where it
 * answers, else from squeue's last word on it.
 */
import type { Reporter } from "../core/events.js";
import type { Executor } from "../exec/executor.js";
import type { Sweep } from "../request/sweep.js";
import type { ArrayRecord } from "../runs/sweep.js";
import type { TaskRecord } from "../runs/tasks.js";
import { arrayTasks, isPending, isTerminal, parseSacct, type QueueEntry, sacctArgv } from "../slurm/index.js";
import { type Clock, realClock } from "./clock.js";
import { type Checked, WaitStopped, watchJobs } from "./watch.js";

/** How often the task records are read between polls. */
export const RECORDS_POLL_MS = 2000;
/** Longest time between squeue calls while tasks run (their records tell of their ends sooner). */
export const SWEEP_RUNNING_POLL_MS = 10_000;
/** What a point that left no record and that Slurm says nothing about is called. */
export const NO_RECORD = "no record: ended without writing its end (killed?)";

/** A sweep's tasks by state. */
export interface TaskCounts {
  pending: number;
  running: number;
  done: number;
  failed: number;
}

/** A point that did not complete with exit code 0. */
export interface FailedPoint {
  index: number;
  params: Record<string, string>;
  /** FAILED (its own record: a non-zero exit), sacct's or squeue's state (TIMEOUT ...), or NO_RECORD. */
  state: string;
  exitCode?: number;
  signal?: string;
  /** The task's log, when its array and task are known. */
  log?: string;
}

/** How a followed sweep ended. */
export interface SweepEnd {
  counts: TaskCounts;
  failed: FailedPoint[];
  /** True when following stopped on Ctrl-C and the tasks go on. */
  detached?: boolean;
}

/** The point each task of `arrays` runs: offset + task id. */
function pointOf(arrays: readonly ArrayRecord[], arrayId: string, task: number): { point: number; array: ArrayRecord } | undefined {
  const array = arrays.find((a) => a.jobId === arrayId);
  return array && task < array.count ? { point: array.offset + task, array } : undefined;
}

/** The log of task `task` of array `arrayId`. */
function taskLog(runDir: string, arrayId: string, task: number | string): string {
  return `${runDir}/logs/${arrayId}_${task}.log`;
}

/** Wait for every task of the sweep's arrays; returns the counts and the points that did not complete with 0. */
export async function followSweep(
  exec: Executor,
  runDir: string,
  sweep: Sweep,
  arrays: readonly ArrayRecord[],
  opts: { report: Reporter; signal?: AbortSignal; clock?: Clock; timeoutMs?: number },
): Promise<SweepEnd> {
  const points = arrays.flatMap((a) => Array.from({ length: a.count }, (_, t) => a.offset + t));
  // Each point's last squeue entry ("gone" once squeue no longer lists it), and the array task that ran it.
  const queued = new Map<number, QueueEntry | "gone">();
  const ran = new Map<number, { arrayId: string; task: number }>();
  let records = new Map<number, TaskRecord>();
  let said = "";

  const counts = (): TaskCounts => {
    const c = { pending: 0, running: 0, done: 0, failed: 0 };
    for (const p of points) {
      const r = records.get(p);
      const q = queued.get(p);
      if (r) r.exitCode === 0 ? c.done++ : c.failed++;
      else if (q === undefined || (q !== "gone" && isPending(q.state))) c.pending++;
      else if (q === "gone" || isTerminal(q.state)) c.failed++;
      else c.running++;
    }
    return c;
  };
  const tell = () => {
    const c = counts();
    const text = `sweep: ${c.pending} pending, ${c.running} running, ${c.done} done, ${c.failed} failed (of ${points.length})`;
    if (text !== said) opts.report({ kind: "progress", text });
    said = text;
  };
  const readRecords = async (): Promise<boolean> => {
    const before = records.size;
    // Imported on use: the records' schema is zod, which lives in the files chunk (a dry run loads neither).
    records = await (await import("../runs/tasks.js")).readTaskRecords(exec, runDir);
    tell();
    return records.size !== before;
  };
  const polled = async (states: ReadonlyMap<string, QueueEntry>) => {
    const listed = new Set<number>();
    for (const entry of states.values()) {
      const { arrayId, tasks } = arrayTasks(entry.jobId);
      for (const task of tasks) {
        const at = pointOf(arrays, arrayId, task);
        if (!at) continue;
        queued.set(at.point, entry);
        ran.set(at.point, { arrayId, task });
        listed.add(at.point);
      }
    }
    for (const p of queued.keys()) if (!listed.has(p)) queued.set(p, "gone");
    await readRecords();
  };
  let over = 0;
  const ended = async (): Promise<SweepEnd | undefined> => {
    over += 1;
    if (over < arrays.length) return undefined;
    await readRecords();
    const failed = await outcomes();
    // Every task is over: the outcomes (records, then sacct, then squeue) give the final counts.
    return { counts: { pending: 0, running: 0, done: points.length - failed.length, failed: failed.length }, failed };
  };
  const outcomes = async (): Promise<FailedPoint[]> => {
    const missing = points.filter((p) => !records.has(p));
    const accounted = new Map<number, { state: string; exitCode: number }>();
    if (missing.length > 0) {
      // Without accounting sacct fails or lists nothing: then squeue's last word decides.
      const r = await exec.run(sacctArgv(arrays.map((a) => a.jobId)));
      if (r.code === 0) {
        for (const e of parseSacct(r.stdout)) {
          const { arrayId, tasks } = arrayTasks(e.jobId);
          const at = tasks[0] === undefined ? undefined : pointOf(arrays, arrayId, tasks[0]);
          if (at && tasks[0] !== undefined) {
            accounted.set(at.point, e);
            ran.set(at.point, { arrayId, task: tasks[0] });
          }
        }
      }
    }
    const failed: FailedPoint[] = [];
    for (const index of points) {
      const params = Object.fromEntries(sweep.names.map((n, i) => [n, sweep.points[index]?.[i] ?? ""]));
      const r = records.get(index);
      if (r) {
        if (r.exitCode !== 0)
          failed.push({
            index,
            params,
            state: "FAILED",
            exitCode: r.exitCode,
            signal: r.signal ?? undefined,
            log: taskLog(runDir, r.arrayJobId, r.taskId),
          });
        continue;
      }
      const task = ran.get(index);
      const log = task && taskLog(runDir, task.arrayId, task.task);
      const acct = accounted.get(index);
      const seen = queued.get(index);
      // A task sacct saw complete with 0 that could not write its record (a full disk, say) did complete.
      if (acct?.state === "COMPLETED" && acct.exitCode === 0) continue;
      if (acct) failed.push({ index, params, state: acct.state, exitCode: acct.exitCode, log });
      else if (seen && seen !== "gone" && isTerminal(seen.state) && seen.state !== "COMPLETED")
        failed.push({ index, params, state: seen.state, log });
      else failed.push({ index, params, state: NO_RECORD, log });
    }
    return failed;
  };

  try {
    return await watchJobs<SweepEnd>(
      exec,
      {
        jobIds: arrays.map((a) => a.jobId),
        check: async (): Promise<Checked<SweepEnd>> => ((await readRecords()) ? "poll" : undefined),
        checkEveryMs: RECORDS_POLL_MS,
        polled,
        ended,
        runningMaxMs: SWEEP_RUNNING_POLL_MS,
        timeoutMessage: `the sweep's arrays (${arrays.map((a) => a.jobId).join(", ")}) did not end within the --timeout`,
      },
      { report: opts.report, signal: opts.signal, clock: opts.clock ?? realClock, timeoutMs: opts.timeoutMs },
    );
  } catch (e) {
    if (!(e instanceof WaitStopped) || e.why !== "interrupt") throw e;
    return { counts: counts(), failed: [], detached: true };
  }
}
