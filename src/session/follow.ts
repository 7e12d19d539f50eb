/**
 * Following a batch job: stream job.log as it grows and end with the job's
 * exit code. squeue is asked at most every 2 s; the log is read every 0.5 s.
 */

import { JobFailedError } from "../core/errors.js";
import type { Reporter } from "../core/events.js";
import type { Executor } from "../exec/executor.js";
import { runFile } from "../runs/store.js";
import { isHopeless, isPending, isTerminal } from "../slurm/index.js";
import { type Clock, realClock } from "./clock.js";
import { endState, MIN_POLL_MS, neverStarts, pendingEvent, queueState } from "./wait.js";

/** How often the log is read while following. */
export const LOG_POLL_MS = 500;

/** How a followed job ended. */
export interface Ended {
  state: string;
  exitCode: number;
  /** True when following stopped on Ctrl-C and the job goes on. */
  detached?: boolean;
}

/** The program's exit code as the batch script logged it ("hpcjob: the program exited with code N"). */
export function loggedExitCode(log: string): number | undefined {
  const all = [...log.matchAll(/^hpcjob: the program exited with code (\d+)$/gm)];
  const last = all[all.length - 1];
  return last ? Number(last[1]) : undefined;
}

/** Stream the job's log to `write` until the job ends; returns its state and exit code. */
export async function followLog(
  exec: Executor,
  jobId: string,
  runDir: string,
  opts: { write: (text: string) => void; report: Reporter; signal?: AbortSignal; clock?: Clock },
): Promise<Ended> {
  const clock = opts.clock ?? realClock;
  const log = runFile(runDir, "log");
  let offset = 0;
  let text = "";
  let lastPoll = Number.NEGATIVE_INFINITY;
  let said = "";
  const drain = async () => {
    const chunk = await exec.readFrom(log, offset);
    if (chunk && chunk.length > 0) {
      offset += chunk.length;
      const s = chunk.toString("utf8");
      text = (text + s).slice(-65536);
      opts.write(s);
    }
  };
  for (;;) {
    await drain();
    if (opts.signal?.aborted) return { state: "RUNNING", exitCode: 130, detached: true };
    if (clock.now() - lastPoll >= MIN_POLL_MS) {
      lastPoll = clock.now();
      const state = await queueState(exec, jobId);
      if (state === "down") {
        if (said !== "down") opts.report({ kind: "controller-down", jobId });
        said = "down";
      } else if (state === undefined || isTerminal(state.state)) {
        await clock.sleep(200);
        await drain();
        const end = await endState(exec, jobId, state);
        const code = loggedExitCode(text) ?? end.exitCode ?? (end.state === "COMPLETED" ? 0 : 1);
        return { state: end.state, exitCode: code };
      } else if (isPending(state.state) && isHopeless(state.reason)) {
        throw new JobFailedError(`${neverStarts(jobId, state)}; cancel it with hpcjob cancel ${jobId}`);
      } else if (isPending(state.state)) {
        const now = `pending:${state.reason}`;
        if (now !== said) opts.report(pendingEvent(jobId, state));
        said = now;
      } else if (said !== "running") {
        opts.report({ kind: "note", text: `job ${jobId} is running on ${state.node ?? "?"}` });
        said = "running";
      }
    }
    await clock.sleep(LOG_POLL_MS, opts.signal);
  }
}
