/**
 * init's questions on the terminal: asked on stderr (stdout keeps the
 * result), answered on stdin, with the widgets of cli/prompts.ts loaded on
 * the first question.
 */
import type { Choice, Questions } from "../commands/init.js";
import { HpcjobError } from "../core/errors.js";

/** The widgets, loaded on first use (a chunk of their own). */
const widgets = () => import("./prompts.js");

/**
 * Ask with a widget; Ctrl-C (the widget's ExitPromptError) or an aborted
 * question ends init with nothing written and exit 130, as an interrupted
 * command ends.
 */
async function asking<T>(ask: () => Promise<T>): Promise<T> {
  try {
    return await ask();
  } catch (e) {
    if ((e as Error)?.name === "ExitPromptError" || (e as Error)?.name === "AbortPromptError") {
      throw new HpcjobError("init stopped before it wrote anything; run hpcjob init again, or hpcjob init --yes to take the defaults", 130);
    }
    throw e;
  }
}

/** Questions on this process's terminal (init reports no live status while it asks, so none needs clearing). */
export function terminalQuestions(): Questions {
  const context = () => ({ input: process.stdin, output: process.stderr });
  return {
    get available() {
      return Boolean(process.stdin.isTTY && process.stderr.isTTY);
    },
    input: (message, def, check) =>
      asking(async () => {
        const { input } = await widgets();
        return input({ message, default: def, validate: (a: string) => (check ? (check(a) ?? true) : true) }, context());
      }),
    select: <T extends string>(message: string, choices: Choice<T>[], def: T) =>
      asking(async () => {
        const { select } = await widgets();
        return select<T>({ message, choices, default: def, pageSize: 12 }, context());
      }),
    confirm: (message, def) =>
      asking(async () => {
        const { confirm } = await widgets();
        return confirm({ message, default: def }, context());
      }),
  };
}
