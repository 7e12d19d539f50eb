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

/** The process's Context, showing early results with `show`; `close` ends its one connection. */
export function processContext(
  progress: Progress,
  signal: AbortSignal,
  show: (data: unknown) => void,
): { ctx: Context; close: () => Promise<void> } {
  let executor: Promise<Executor> | undefined;
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
      // One per command: every stage of a command uses the same connection.
      executor ??= commands().then(({ makeExecutor }) => makeExecutor(placement, { env, home, cwd, prompter, report: progress.report }));
      return executor;
    },
    localClusterName: async () => (await commands()).localClusterName(env),
    report: progress.report,
    stream: progress.stream,
    show,
    signal,
  };
  const close = async () => {
    const e = await executor?.catch(() => undefined);
    await e?.dispose();
  };
  return { ctx, close };
}
