/**
 * The hpcjob command line: parse, run one command, show what it returns.
 * cli/ is the only code that writes to stdout/stderr or sets the exit code,
 * and this is the one place errors become exit codes. Commands are imported
 * lazily, so start-up stays close to bare node.
 */
import { CommanderError } from "commander";
import { isHpcjobError } from "../core/errors.js";
import { processContext } from "./context.js";
import { buildProgram } from "./program.js";
import type { CommandSpec } from "./table.js";
import { progressPrinter, writeAll } from "./terminal.js";

/** A command's result on stdout: JSON when asked for (and the command has a JSON form), text otherwise. */
function show(spec: CommandSpec, data: unknown, json: boolean): void {
  const asJson = json ? (spec.json ? spec.json(data) : data) : undefined;
  if (asJson !== undefined) {
    writeAll(1, `${JSON.stringify(asJson, null, 2)}\n`);
    return;
  }
  const text = spec.text(data);
  if (text !== undefined) writeAll(1, text.endsWith("\n") ? text : `${text}\n`);
}

/** Report an error on stderr and return the exit code it ends with. */
function exitCodeFor(e: unknown): number {
  if (e instanceof CommanderError) {
    // commander has printed its own message (unknown option, missing argument, --help).
    return e.exitCode === 0 ? 0 : 2;
  }
  if (isHpcjobError(e)) {
    writeAll(2, `hpcjob: ${e.message}\n${e.evidence.map((line) => `  ${line}\n`).join("")}`);
    if (process.env.HPCJOB_DEBUG === "1") writeAll(2, `${e.stack}\n`);
    return e.exitCode;
  }
  const err = e as Error;
  writeAll(2, `hpcjob: unexpected error: ${err?.message ?? String(e)}; rerun with HPCJOB_DEBUG=1 and report it\n`);
  if (process.env.HPCJOB_DEBUG === "1") writeAll(2, `${err?.stack}\n`);
  return 1;
}

/** Run hpcjob with the process's arguments. */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  const progress = progressPrinter();
  // A result shown before its command ends (jupyter --tunnel) reads like the command's own.
  let running: { spec: CommandSpec; json: boolean } | undefined;
  const early = (data: unknown) => {
    progress.done();
    if (running) show(running.spec, data, running.json);
  };
  const { ctx, close } = processContext(progress, early);
  try {
    const program = buildProgram(async (spec, input) => {
      running = { spec, json: Boolean(input.flags.json) };
      const commands = await import("../commands/index.js");
      let done: Awaited<ReturnType<CommandSpec["run"]>>;
      try {
        done = await spec.run(commands, input, ctx);
      } finally {
        progress.done();
      }
      show(spec, done.data, running.json);
      if (done.exitCode !== undefined) process.exitCode = done.exitCode;
    }, argv.slice(2));
    await program.parseAsync(argv as string[]);
  } catch (e) {
    process.exitCode = exitCodeFor(e);
  } finally {
    // One connection per command: closed on success, on errors and after Ctrl-C.
    await close();
  }
}
