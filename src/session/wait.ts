/**
 * Waiting for a job: poll squeue (never more often than every 2 s, backing
 * off to 30 s while a job stays pending), keep waiting through a controller
 * that does not answer, and watch the run directory for connection.json,
 * which is cheap to check, so the tunnel is printed soon after Jupyter answers.
 * squeue is the only source of state while the job is listed; after that,
 * scontrol (while Slurm remembers the job) and the run directory's files.
 */
import { HpcjobError, JobFailedError, SlurmError } from "../core/errors.js";
import type { Reporter, WaitEvent } from "../core/events.js";
import type { Executor } from "../exec/executor.js";
import { type Connection, readConnection, runFile } from "../runs/store.js";
import {
  baseState,
  describeReason,
  isControllerDown,
  isHopeless,
  isInvalidJobId,
  isPending,
  isTerminal,
  parseScontrolShowJob,
  parseSqueue,
  type QueueEntry,
  scontrolShowJobArgv,
  squeueArgv,
} from "../slurm/index.js";
import { type Clock, realClock } from "./clock.js";

/** Shortest time between two squeue calls. */
export const MIN_POLL_MS = 2000;
/** Longest time between two squeue calls while a job is pending. */
export const MAX_POLL_MS = 30_000;
/** How often connection.json is looked for while the job runs. */
export const CONNECTION_POLL_MS = 250;
/** Lines of job.log shown when a job fails. */
export const LOG_TAIL_LINES = 25;

/** Why waiting stopped before the job was ready. */
export class WaitStopped extends HpcjobError {
  constructor(
    readonly why: "timeout" | "interrupt" | "hopeless",
    message: string,
  ) {
    super(message, why === "interrupt" ? 130 : 1);
  }
}

/** Options for waiting. */
export interface WaitOptions {
  /** Give up after this long (ms) in all. */
  timeoutMs?: number;
  /** Aborted on Ctrl-C. */
  signal?: AbortSignal;
  report: Reporter;
  clock?: Clock;
}

/** The event that says why a job waits: its reason in words and Slurm's expected start. */
export function pendingEvent(jobId: string, entry: QueueEntry): WaitEvent {
  return { kind: "pending", jobId, reason: entry.reason, reasonText: describeReason(entry.reason), startTime: entry.startTime };
}

/** "job 7 will never start: ... (PartitionTimeLimit)", for a pending reason that cannot resolve itself. */
export function neverStarts(jobId: string, entry: QueueEntry): string {
  return `job ${jobId} will never start: ${describeReason(entry.reason)} (${entry.reason})`;
}

/** The last `n` lines of a text. */
export function tail(text: string, n = LOG_TAIL_LINES): string[] {
  const lines = text.replace(/\n+$/, "").split("\n");
  return lines.slice(Math.max(0, lines.length - n));
}

/** One squeue call for the job: its entry, undefined when Slurm no longer lists it, or "down". */
export async function queueState(exec: Executor, jobId: string): Promise<QueueEntry | undefined | "down"> {
  const r = await exec.run(squeueArgv([jobId]));
  if (r.code !== 0) {
    if (isControllerDown(r.stderr)) return "down";
    if (isInvalidJobId(r.stderr)) return undefined;
    throw new SlurmError(`squeue failed (exit ${r.code})`, tail(r.stderr, 5));
  }
  return parseSqueue(r.stdout).find((e) => e.jobId === jobId);
}

/** How a job ended, from scontrol while Slurm remembers it: "FAILED, exit code 1". */
export async function endState(
  exec: Executor,
  jobId: string,
  last?: QueueEntry,
): Promise<{ state: string; exitCode?: number; text: string }> {
  const r = await exec.run(scontrolShowJobArgv(jobId));
  const info = r.code === 0 ? parseScontrolShowJob(r.stdout) : undefined;
  const state = info?.state ?? last?.state ?? "ENDED";
  // Slurm reports a script killed by signal S as ExitCode=0:S: say "signal S", not "exit code 0".
  const signal = info?.signal ? info.signal : undefined;
  const exitCode = signal !== undefined ? 128 + signal : info?.exitCode;
  let text = state;
  if (baseState(state) !== "CANCELLED" && signal !== undefined) text = `${state}, killed by signal ${signal}`;
  else if (baseState(state) !== "CANCELLED" && exitCode !== undefined) text = `${state}, exit code ${exitCode}`;
  return { state, exitCode, text };
}

/** Throws JobFailedError with the job's end state and the tail of its log. */
async function failed(exec: Executor, jobId: string, runDir: string, last: QueueEntry | undefined): Promise<never> {
  const end = await endState(exec, jobId, last);
  const logPath = runFile(runDir, "log");
  const log = (await exec.readFile(logPath)) ?? "";
  const evidence = log.trim() ? [`last lines of ${logPath}:`, ...tail(log)] : [`${logPath} is empty`];
  throw new JobFailedError(`job ${jobId} ended (${end.text}) before Jupyter was ready; the script and log are in ${runDir}`, evidence);
}

/** Wait until the job's Jupyter answers; returns where it listens. */
export async function waitForJupyter(exec: Executor, jobId: string, runDir: string, opts: WaitOptions): Promise<Connection> {
  const clock = opts.clock ?? realClock;
  const deadline = opts.timeoutMs === undefined ? Number.POSITIVE_INFINITY : clock.now() + opts.timeoutMs;
  let interval = MIN_POLL_MS;
  let controllerDown = false;
  let lastSaid = "";
  let last: QueueEntry | undefined;

  const stopIfAsked = () => {
    if (opts.signal?.aborted) throw new WaitStopped("interrupt", `interrupted while waiting for job ${jobId}`);
    if (clock.now() >= deadline) throw new WaitStopped("timeout", `job ${jobId} was not ready within the --timeout`);
  };

  for (;;) {
    stopIfAsked();
    const conn = await readConnection(exec, runDir);
    if (conn) return conn;

    const state = await queueState(exec, jobId);
    if (state === "down") {
      if (!controllerDown) opts.report({ kind: "controller-down", jobId });
      controllerDown = true;
    } else {
      if (controllerDown) opts.report({ kind: "controller-back", jobId });
      controllerDown = false;
      if (state === undefined || isTerminal(state.state)) {
        // The job may have written connection.json just before squeue ran.
        const late = await readConnection(exec, runDir);
        if (late && state === undefined) return late;
        return failed(exec, jobId, runDir, state ?? last);
      }
      last = state;
      if (isPending(state.state) && isHopeless(state.reason)) throw new WaitStopped("hopeless", neverStarts(jobId, state));
      if (isPending(state.state)) {
        const said = `${state.reason}|${state.startTime ?? ""}`;
        if (said !== lastSaid) opts.report(pendingEvent(jobId, state));
        lastSaid = said;
      } else if (lastSaid !== "running") {
        opts.report({ kind: "starting", jobId, node: state.node ?? "?" });
        lastSaid = "running";
      }
    }

    // squeue: every 2 s while running, backing off to 30 s while pending (10 s
    // while the controller is down). connection.json: every 250 ms throughout,
    // since a file check costs Slurm nothing and decides how soon the tunnel shows.
    const running = !controllerDown && last !== undefined && !isPending(last.state);
    interval = running ? MIN_POLL_MS : Math.min(Math.round(interval * 1.5), controllerDown ? 10_000 : MAX_POLL_MS);
    const until = Math.min(clock.now() + interval, deadline);
    while (clock.now() < until && !opts.signal?.aborted) {
      await clock.sleep(Math.min(CONNECTION_POLL_MS, until - clock.now()), opts.signal);
      const c = await readConnection(exec, runDir);
      if (c) return c;
    }
  }
}
