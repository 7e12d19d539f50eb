/**
 * Waiting for a Jupyter job (`jupyter`, `attach`): the job watcher, with
 * connection.json as its check. The file is looked for every 250 ms, which
 * costs Slurm nothing, so the tunnel is printed soon after Jupyter answers
 * however far squeue has backed off.
 */
import { JobFailedError } from "../core/errors.js";
import type { Executor } from "../exec/executor.js";
import { type Connection, readConnection } from "../runs/store.js";
import { endState, logEvidence } from "./ended.js";
import { type WaitOptions, watchJobs } from "./watch.js";

// Callers import these from here.
export { tail } from "./ended.js";
export { WaitStopped } from "./watch.js";

/** How often connection.json is looked for. */
export const CONNECTION_POLL_MS = 250;

/** Wait until the job's Jupyter answers; returns where it listens. */
export async function waitForJupyter(exec: Executor, jobId: string, runDir: string, opts: WaitOptions): Promise<Connection> {
  const ready = async () => {
    const conn = await readConnection(exec, runDir);
    return conn ? { done: conn } : undefined;
  };
  return watchJobs(
    exec,
    {
      jobIds: [jobId],
      check: ready,
      checkEveryMs: CONNECTION_POLL_MS,
      ended: async ({ final }) => {
        // The job may have written connection.json just before squeue ran.
        const late = await readConnection(exec, runDir);
        if (late && final === undefined) return late;
        const end = await endState(exec, jobId, final);
        throw new JobFailedError(
          `job ${jobId} ended (${end.text}) before Jupyter was ready; the script and log are in ${runDir}`,
          await logEvidence(exec, runDir),
        );
      },
      running: (id, node) => ({ kind: "starting", jobId: id, node }),
      timeoutMessage: `job ${jobId} was not ready within the --timeout`,
    },
    opts,
  );
}
