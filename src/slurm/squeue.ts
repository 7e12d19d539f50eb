/**
 * The queue: squeue command lines and their output. One squeue call answers
 * for every watched job, so a waiting hpcjob costs the controller one RPC per
 * poll however many jobs it watches.
 *
 * `--states=all`: squeue given job ids still shows only pending, running and
 * completing jobs unless told otherwise (Slurm 22.05), so a job that just
 * ended would look the same as one Slurm never heard of. With it, an ended
 * job stays listed with its final state (COMPLETED, FAILED, TIMEOUT ...) for
 * MinJobAge (300 s by default); after that squeue forgets it. Asked for
 * that one id alone, squeue fails with "Invalid job id specified" (see
 * isInvalidJobId); asked for several, it leaves the unknown ones out.
 */
import { orNone, outputFormat, splitRecords } from "./fields.js";
import { jobIdList } from "./ids.js";

export { isControllerDown, isInvalidJobId } from "./stderr.js";

/** One job as squeue lists it. */
export interface QueueEntry {
  jobId: string;
  /** Long form: PENDING, RUNNING, COMPLETED, CANCELLED ... */
  state: string;
  /** Why it is pending (Resources, Priority ...) or how it ended (NonZeroExitCode ...); "None" otherwise. */
  reason: string;
  /** Node list; undefined until nodes are assigned (and for a job cancelled before it started). */
  node?: string;
  /**
   * Actual or expected start, Slurm's local time as printed ("2026-11-22T02:40:13");
   * undefined when Slurm has no estimate. A job cancelled while pending shows when it was cancelled.
   */
  startTime?: string;
  name: string;
  user: string;
  /** The --comment; "" when none. */
  comment: string;
  /** The batch script's absolute path (even when sbatch was given a relative one); undefined for --wrap jobs. */
  script?: string;
  /** Run time so far, e.g. "1:02" or "1-02:03:04". */
  timeUsed: string;
  /** e.g. "10:00", "2-00:00:00" or "UNLIMITED". */
  timeLimit: string;
  partition: string;
}

// squeue -o codes (squeue(1), Slurm 22.05): %i job id, %T state (long form),
// %r reason, %N nodes, %S start time, %j name, %u user, %k comment,
// %o command (the script path), %M time used, %l time limit, %P partition.
const QUEUE_CODES = ["%i", "%T", "%r", "%N", "%S", "%j", "%u", "%k", "%o", "%M", "%l", "%P"] as const;

/** `-o` format of squeueArgv and squeueUserArgv. */
export const QUEUE_FORMAT = outputFormat(QUEUE_CODES);

/** squeue for the given jobs, ended ones included, one record per job. */
export function squeueArgv(jobIds: string[]): string[] {
  // --jobs=LIST, not "-j LIST": -j takes an optional argument (squeue(1)).
  return ["squeue", "-h", `--jobs=${jobIdList(jobIds)}`, "--states=all", "-o", QUEUE_FORMAT];
}

/** squeue for every job of a user, recently ended ones included (same format as squeueArgv). */
export function squeueUserArgv(user: string): string[] {
  if (user === "") throw new Error("squeueUserArgv needs a user name");
  return ["squeue", "-h", `--user=${user}`, "--states=all", "-o", QUEUE_FORMAT];
}

/** The jobs in the output of squeueArgv or squeueUserArgv. */
export function parseSqueue(stdout: string): QueueEntry[] {
  return splitRecords(stdout, QUEUE_CODES.length, "squeue").map(queueEntry);
}

/** One job from its fields in QUEUE_CODES' order (sacct's history asks for the same order: slurm/sacct.ts). */
export function queueEntry(f: string[]): QueueEntry {
  const [
    jobId = "",
    state = "",
    reason = "",
    node = "",
    start = "",
    name = "",
    user = "",
    comment = "",
    script = "",
    timeUsed = "",
    timeLimit = "",
    partition = "",
  ] = f;
  return {
    jobId,
    state,
    reason,
    node: orNone(node),
    startTime: orNone(start),
    name,
    user,
    comment: orNone(comment) ?? "",
    script: orNone(script),
    timeUsed,
    timeLimit,
    partition,
  };
}
