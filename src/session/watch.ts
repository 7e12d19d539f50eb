/**
 * The one job watcher: every wait in hpcjob (Jupyter's, `batch --follow`,
 * `logs -f`, `attach`) is this loop, and its users say only what they check
 * between polls and what a job's end means to them.
 *
 * Slurm is asked about all watched jobs in one squeue call per poll, never
 * within 2 s of the last, backing off (×1.5) to every 30 s while nothing
 * changes, and to every 10 s at most while the controller does not answer, so
 * its return is noticed soon. squeue is the only source of a job's state while
 * Slurm lists it. The check between polls costs Slurm nothing (a file read),
 * so the moment a user waits for (Jupyter answering, a new log line) shows
 * within a fraction of a second whatever the poll interval.
 */
import { HpcjobError, SlurmError } from "../core/errors.js";
import type { Reporter, WaitEvent } from "../core/events.js";
import type { Executor } from "../exec/executor.js";
import {
  arrayTasks,
  baseState,
  describeReason,
  isControllerDown,
  isHopeless,
  isInvalidJobId,
  isPending,
  isRunning,
  isTerminal,
  parseSqueue,
  type QueueEntry,
  squeueArgv,
} from "../slurm/index.js";
import { type Clock, realClock } from "./clock.js";
import { tail } from "./ended.js";

/** Shortest time between two squeue calls. */
export const MIN_POLL_MS = 2000;
/** Longest time between two squeue calls while the jobs pend. */
export const MAX_POLL_MS = 30_000;
/** Longest time between two squeue calls while the controller does not answer. */
export const DOWN_POLL_MS = 10_000;
/** Each quiet poll waits this much longer than the one before. */
const BACK_OFF = 1.5;

/** Why waiting stopped before the job was ready. */
export class WaitStopped extends HpcjobError {
  constructor(
    readonly why: "timeout" | "interrupt" | "hopeless",
    message: string,
    /** The watched jobs as squeue last listed them. */
    readonly seen: ReadonlyMap<string, QueueEntry> = new Map(),
  ) {
    super(message, why === "interrupt" ? 130 : 1);
  }
}

/** How a wait may be bounded and where its progress goes. */
export interface WaitOptions {
  /** Give up after this long (ms) in all. */
  timeoutMs?: number;
  /** Aborted on Ctrl-C. */
  signal?: AbortSignal;
  report: Reporter;
  clock?: Clock;
}

/** What a check between polls found: the watch's result, "poll" (ask Slurm soon: a job is likely over), or nothing. */
export type Checked<T> = { done: T } | "poll" | undefined;

/** A watched job that Slurm says is over. */
export interface Over {
  jobId: string;
  /** Its final entry (COMPLETED, FAILED ...); undefined when Slurm no longer lists it. */
  final?: QueueEntry;
}

/** What to watch, and what the watcher's user makes of it. */
export interface Watch<T> {
  /** The jobs; one squeue call asks about all of them. */
  jobIds: readonly string[];
  /** A check that costs Slurm nothing, run every `checkEveryMs` between polls and before the first. */
  check?: () => Promise<Checked<T>>;
  checkEveryMs?: number;
  /** A job is over: the watch's result, or undefined to go on watching the others. May throw (the job failed). */
  ended: (over: Over) => Promise<T | undefined>;
  /**
   * Every poll's answer, all watched jobs' entries by squeue's id (an array's
   * tasks as 123_4, and 123_[5-9] while pending), before ends are handled:
   * for a watcher that counts an array's tasks.
   */
  polled?: (entries: ReadonlyMap<string, QueueEntry>) => Promise<void>;
  /** The event for a job that has started (default: a note "job 7 is running on NODE"). */
  running?: (jobId: string, node: string) => WaitEvent;
  /**
   * Longest time between polls while a job runs (default 2 s: no back-off).
   * Larger only where the check notices the end itself and answers "poll".
   */
  runningMaxMs?: number;
  /** The --timeout's message (default "job 7 did not end within the --timeout"). */
  timeoutMessage?: string;
}

/** The event that says why a job waits: its reason in words and Slurm's expected start. */
function pendingEvent(jobId: string, entry: QueueEntry): WaitEvent {
  return { kind: "pending", jobId, reason: entry.reason, reasonText: describeReason(entry.reason), startTime: entry.startTime };
}

/** "job 7 will never start: ... (PartitionTimeLimit)", for a pending reason that cannot resolve itself. */
function neverStarts(jobId: string, entry: QueueEntry): string {
  return `job ${jobId} will never start: ${describeReason(entry.reason)} (${entry.reason})`;
}

/**
 * One squeue call for the jobs: the entry of each job Slurm lists (one it has
 * forgotten is left out), or "down" when the controller does not answer.
 * Entries are keyed by squeue's job id; an array's tasks (123_4, and 123_[5-9]
 * while pending) need their own matching when arrays are watched.
 */
async function queueStates(exec: Executor, jobIds: readonly string[]): Promise<Map<string, QueueEntry> | "down"> {
  const r = await exec.run(squeueArgv([...jobIds]));
  if (r.code !== 0) {
    if (isControllerDown(r.stderr)) return "down";
    // Asked for one id alone, squeue fails for a job it has forgotten; for several it leaves it out.
    if (isInvalidJobId(r.stderr)) return new Map();
    throw new SlurmError(`squeue failed (exit ${r.code})`, tail(r.stderr, 5));
  }
  return new Map(parseSqueue(r.stdout).map((e) => [e.jobId, e]));
}

/**
 * What squeue says of watched job `jobId`: its own entry, or for an array the
 * entry of a task still in the queue (a running one first); undefined once
 * nothing of it is left in the queue (its final entry then, for a plain job).
 */
function entryOf(states: ReadonlyMap<string, QueueEntry>, jobId: string): QueueEntry | undefined {
  const own = states.get(jobId);
  if (own) return own;
  const live = [...states.values()].filter((e) => arrayTasks(e.jobId).arrayId === jobId && !isTerminal(e.state));
  return live.find((e) => isRunning(e.state)) ?? live[0];
}

/** Watch the jobs until the check or a job's end gives a result; throws WaitStopped on Ctrl-C, --timeout or a job that can never start. */
export async function watchJobs<T>(exec: Executor, watch: Watch<T>, opts: WaitOptions): Promise<T> {
  const clock = opts.clock ?? realClock;
  const deadline = opts.timeoutMs === undefined ? Number.POSITIVE_INFINITY : clock.now() + opts.timeoutMs;
  const label = watch.jobIds.join(", ");
  const watching = [...watch.jobIds];
  const seen = new Map<string, QueueEntry>();
  // What was last said about each job, so each change is said once.
  const said = new Map<string, string>();
  let down = false;
  let interval = MIN_POLL_MS;
  let lastPoll = Number.NEGATIVE_INFINITY;
  // The check saw a job's end coming (a log's exit line): poll at the shortest interval until a state changes.
  let hurry = false;

  const stopIfAsked = () => {
    if (opts.signal?.aborted) throw new WaitStopped("interrupt", `interrupted while waiting for job ${label}`, seen);
    if (clock.now() >= deadline)
      throw new WaitStopped("timeout", watch.timeoutMessage ?? `job ${label} did not end within the --timeout`, seen);
  };
  const check = async (): Promise<{ done: T } | undefined> => {
    const found = await watch.check?.();
    if (found === "poll") hurry = true;
    return found === "poll" ? undefined : found;
  };
  const tell = (jobId: string, entry: QueueEntry) => {
    const now = isPending(entry.state) ? `pending|${entry.reason}|${entry.startTime ?? ""}` : "running";
    const before = said.get(jobId);
    if (now === before) return;
    said.set(jobId, now);
    const node = entry.node ?? "?";
    // Running, then queued again: Slurm requeued it (preemption, scontrol requeue, a node failure); its next run is still to come.
    if (before === "running" && now !== "running") opts.report({ kind: "note", text: `job ${jobId} was requeued: it waits to run again` });
    if (now !== "running") opts.report(pendingEvent(jobId, entry));
    else opts.report(watch.running?.(jobId, node) ?? { kind: "note", text: `job ${jobId} is running on ${node}` });
  };

  // True when the check has just run, so the poll need not run it again.
  let checked = false;
  for (;;) {
    stopIfAsked();
    const before = checked ? undefined : await check();
    if (before) return before.done;

    const states = await queueStates(exec, watching);
    lastPoll = clock.now();
    checked = false;
    let changed = false;
    if (states === "down") {
      if (!down) opts.report({ kind: "controller-down", jobId: label });
      down = true;
    } else {
      if (down) opts.report({ kind: "controller-back", jobId: label });
      down = false;
      await watch.polled?.(states);
      for (const jobId of [...watching]) {
        const entry = entryOf(states, jobId);
        if (entry === undefined || isTerminal(entry.state)) {
          watching.splice(watching.indexOf(jobId), 1);
          const result = await watch.ended({ jobId, final: entry });
          if (result !== undefined) return result;
          continue;
        }
        const previous = seen.get(jobId);
        if (previous && baseState(previous.state) !== baseState(entry.state)) changed = true;
        seen.set(jobId, entry);
        if (isPending(entry.state) && isHopeless(entry.reason)) throw new WaitStopped("hopeless", neverStarts(jobId, entry), seen);
        // An array's tasks come and go (running, then the next pending): its user reports them (polled), not as one job.
        if (entry.jobId === jobId) tell(jobId, entry);
      }
      if (watching.length === 0) throw new Error(`every watched job ended and none gave a result (${label})`);
    }

    // A change (pending to running, running to completing) may come with the
    // next: ask again soon. Otherwise wait longer each time, up to a cap.
    if (changed) hurry = false;
    const running = watching.some((id) => isRunning(seen.get(id)?.state ?? ""));
    const cap = down ? DOWN_POLL_MS : running ? (watch.runningMaxMs ?? MIN_POLL_MS) : MAX_POLL_MS;
    interval = changed ? MIN_POLL_MS : Math.min(Math.round(interval * BACK_OFF), Math.max(cap, MIN_POLL_MS));

    // Until the next poll: the check, as often as it asks (it costs Slurm nothing).
    const nextPoll = () => Math.min(lastPoll + (hurry ? MIN_POLL_MS : interval), deadline);
    while (clock.now() < nextPoll() && !opts.signal?.aborted) {
      await clock.sleep(Math.min(watch.checkEveryMs ?? Number.POSITIVE_INFINITY, nextPoll() - clock.now()), opts.signal);
      const between = await check();
      if (between) return between.done;
      checked = true;
    }
  }
}
