/**
 * Following a batch job (`batch --follow`, `logs -f`): the job watcher, with
 * the log as its check. New bytes of job.log are read every 0.5 s and
 * written out as they come; squeue backs off while the job pends and, up to
 * every 10 s, while it runs, since the script's last line ("hpcjob: the
 * program exited with code N") tells when to ask Slurm at once.
 */
import { JobFailedError } from "../core/errors.js";
import type { Reporter } from "../core/events.js";
import type { Executor } from "../exec/executor.js";
import { runFile } from "../runs/store.js";
import { type Clock, realClock } from "./clock.js";
import { loggedExitCode, programEnd } from "./ended.js";
import { type Checked, WaitStopped, watchJobs } from "./watch.js";

/** How often the log is read while following. */
export const LOG_POLL_MS = 500;
/** Longest time between squeue calls while a followed job runs. */
export const FOLLOW_RUNNING_POLL_MS = 10_000;
// The last stretch of the log kept for its exit line.
const KEPT_LOG = 65_536;

/** How a followed job ended. */
export interface Ended {
  state: string;
  exitCode: number;
  /** True when following stopped on Ctrl-C and the job goes on. */
  detached?: boolean;
}

/** Stream the job's log to `write` until the job ends; returns its state and exit code. */
export async function followLog(
  exec: Executor,
  jobId: string,
  runDir: string,
  opts: { write: (text: string) => void; report: Reporter; signal?: AbortSignal; clock?: Clock; timeoutMs?: number },
): Promise<Ended> {
  const clock = opts.clock ?? realClock;
  const log = runFile(runDir, "log");
  const decoder = new TextDecoder();
  let offset = 0;
  let text = "";
  /** Write what the log has gained; true when it gained the program's exit line. */
  const drain = async (last = false): Promise<boolean> => {
    const chunk = await exec.readFrom(log, offset);
    offset += chunk?.length ?? 0;
    // A character split across two reads is decoded whole; the last read lets go of what is left.
    const s = decoder.decode(chunk ?? new Uint8Array(), { stream: !last });
    if (s === "") return false;
    // The new text with the start of the line it continues.
    const fresh = text.slice(text.lastIndexOf("\n") + 1) + s;
    text = (text + s).slice(-KEPT_LOG);
    opts.write(s);
    return loggedExitCode(fresh) !== undefined;
  };
  try {
    return await watchJobs<Ended>(
      exec,
      {
        jobIds: [jobId],
        check: async (): Promise<Checked<Ended>> => ((await drain()) ? "poll" : undefined),
        checkEveryMs: LOG_POLL_MS,
        ended: async ({ final }) => {
          // The last lines may reach the file just after Slurm says the job is over.
          await clock.sleep(200);
          await drain(true);
          return programEnd(exec, jobId, text, final);
        },
        runningMaxMs: FOLLOW_RUNNING_POLL_MS,
      },
      { report: opts.report, signal: opts.signal, clock, timeoutMs: opts.timeoutMs },
    );
  } catch (e) {
    if (!(e instanceof WaitStopped)) throw e;
    if (e.why === "hopeless") throw new JobFailedError(`${e.message}; cancel it with hpcjob cancel ${jobId}`);
    if (e.why === "timeout") throw e;
    await drain(true);
    return { state: e.seen.get(jobId)?.state ?? "UNKNOWN", exitCode: 130, detached: true };
  }
}
