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
