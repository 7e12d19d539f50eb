/**
 * The Context of the running process: its environment, one executor for the
 * command (closed when it ends), stderr progress, stdout for what streams,
 * and Ctrl-C.
 */
import type { Context } from "../commands/context.js";
import type { Executor } from "../exec/executor.js";
import type { Placement } from "../exec/placement.js";
import { type Progress, terminalPrompter } from "./terminal.js";

/** The commands chunk, where the executors are made (loaded on first use). */
const commands = () => import("../commands/index.js");

/**
 * Ctrl-C as an AbortSignal, listened for from the first time it is asked for
 * (a dry run, which reaches no cluster, never asks and pays nothing). First
 * Ctrl-C: stop waiting (the command cancels the job and says so). Second:
 * leave now.
 */
function interrupts(): () => AbortSignal {
  let aborter: AbortController | undefined;
  return () => {
    if (!aborter) {
      const own = new AbortController();
      process.on("SIGINT", () => {
        if (own.signal.aborted) process.exit(130);
        own.abort();
      });
      aborter = own;
    }
    return aborter.signal;
  };
}

/** The process's Context, showing early results with `show`; `close` ends its one connection. */
export function processContext(progress: Progress, show: (data: unknown) => void): { ctx: Context; close: () => Promise<void> } {
  let executor: Promise<Executor> | undefined;
  const interrupt = interrupts();
  const env = process.env;
  const home = env.HOME ?? "/";
  const cwd = process.cwd();
  const prompter = terminalPrompter(progress.done);
  const ctx: Context = {
    env,
    home,
    cwd,
    now: () => new Date(),
    connect: (placement: Placement) => {
      // From here on a Ctrl-C is heard, so one during a submission still ends in a cancelled job.
      interrupt();
      // One per command: every stage of a command uses the same connection.
      executor ??= commands().then(({ makeExecutor }) => makeExecutor(placement, { env, home, cwd, prompter, report: progress.report }));
      return executor;
    },
    localClusterName: async () => (await commands()).localClusterName(env),
    report: progress.report,
    stream: progress.stream,
    show,
    get signal() {
      return interrupt();
    },
  };
  const close = async () => {
    const e = await executor?.catch(() => undefined);
    await e?.dispose();
  };
  return { ctx, close };
}
