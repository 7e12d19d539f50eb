/**
 * Job ids on their way into an argv. A job id may come from the user (`hpcjob
 * cancel 123`), and scancel takes its ids as bare words, so "--user=me" must
 * never get there: only whole ids and array tasks pass.
 */
import { UsageError } from "../core/errors.js";

const JOB_ID = /^\d+(?:_\d+)?$/;

/** The ids as Slurm's comma-separated list; throws UsageError for anything but `123` or `123_4`. */
export function jobIdList(jobIds: readonly string[]): string {
  // An empty list would make squeue list every job on the cluster: a bug in the caller.
  if (jobIds.length === 0) throw new Error("no job ids given");
  for (const id of jobIds) {
    if (!JOB_ID.test(id)) throw new UsageError(`"${id}" is not a Slurm job id; use the number sbatch printed, e.g. 4242`);
  }
  return jobIds.join(",");
}

/**
 * The array job and task ids of a squeue job id: "123_4" is task 4 of 123,
 * "123_[0-3,5%2]" (pending tasks, listed as one) tasks 0-3 and 5; a plain
 * job id gives no tasks.
 */
export function arrayTasks(jobId: string): { arrayId: string; tasks: number[] } {
  const m = /^(\d+)_(?:(\d+)|\[([^\]]*)\])$/.exec(jobId);
  if (!m) return { arrayId: jobId, tasks: [] };
  const arrayId = m[1] ?? "";
  if (m[2] !== undefined) return { arrayId, tasks: [Number(m[2])] };
  const tasks: number[] = [];
  // The %N limit is not a task; ranges may carry a step (0-9:2).
  for (const part of (m[3] ?? "").split("%")[0]?.split(",") ?? []) {
    const r = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part);
    if (!r) continue;
    const from = Number(r[1]);
    const to = r[2] === undefined ? from : Number(r[2]);
    const step = Math.max(1, Number(r[3] ?? 1));
    for (let t = from; t <= to; t += step) tasks.push(t);
  }
  return { arrayId, tasks };
}
