/**
 * The commander program, made from the table of commands (table.ts). Only
 * the command being run gets its options defined (all of them for `hpcjob
 * help`): defining a hundred options nobody uses is a good part of start-up.
 */
import { Command, Option } from "commander";
import { versionText } from "../core/version.js";
import { explicitCommand } from "./args.js";
import { COMMANDS, type CommandSpec, GROUPS, type Invocation } from "./table.js";
import { writeAll } from "./terminal.js";

const collect = (value: string, previous: string[]) => [...previous, value];

/** commander's "error: ...\n(Did you mean ...?)" as hpcjob's one line with the fix. */
function oneLineUsageError(text: string): string {
  const [first = "", ...rest] = text.trim().split("\n");
  const hint = rest
    .join(" ")
    .replace(/^\((.*)\)$/, "$1")
    .trim();
  const message = first.replace(/^error: /, "");
  return `hpcjob: ${message}; ${hint ? `${hint[0]?.toLowerCase()}${hint.slice(1)}` : "see hpcjob --help"}\n`;
}

/** The flags of a command's options that take a value (`--name`, `-n`), for explicitCommand. */
function valueFlags(cmd: Command): Set<string> {
  return new Set(
    cmd.options.filter((o: Option) => o.required).flatMap((o: Option) => [o.long, o.short].filter((f): f is string => Boolean(f))),
  );
}

/** What the program does with a parsed command line: run the spec's command and show its result. */
export type Runner = (spec: CommandSpec, input: Invocation) => Promise<void>;

/** Build the commander program for `rawArgs` (argv without node and the script); `run` gets each parsed command. */
export function buildProgram(run: Runner, rawArgs: readonly string[]): Command {
  const invoked = rawArgs.find((a) => !a.startsWith("-"));
  // A known command word: only its command exists (commander needs the others
  // only to list them in help and to suggest one for a mistyped word).
  const known = COMMANDS.some((spec) => spec.path[0] === invoked);
  const wanted = (path: readonly string[]) => invoked === undefined || invoked === "help" || path[0] === invoked;
  const program = new Command("hpcjob").description(
    "Run your container on a Slurm GPU node: Jupyter or batch jobs, from cluster profiles.",
  );
  // -V is an option of hpcjob itself, not of its commands: no command word, no need to define it.
  if (!known) program.version(versionText(), "-V, --version", "print the version and the commit it was built from");
  program
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .configureOutput({
      writeOut: (text) => writeAll(1, text),
      writeErr: (text) => writeAll(2, text),
      outputError: (text, write) => write(oneLineUsageError(text)),
    })
    .exitOverride();

  const groups = new Map<string, Command>();
  for (const spec of COMMANDS) {
    if (known && spec.path[0] !== invoked) continue;
    const [first = "", second] = spec.path;
    let parent = program;
    if (second !== undefined) {
      const group = groups.get(first) ?? program.command(first).description(GROUPS[first] ?? "");
      groups.set(first, group);
      parent = group;
    }
    const cmd = parent.command(second ?? first).description(spec.description);
    for (const [arg, help] of spec.args ?? []) cmd.argument(arg, help);
    if (wanted(spec.path)) {
      for (const o of spec.options) {
        if (o.hidden) cmd.addOption(new Option(o.flags, o.help).hideHelp());
        else if (o.repeatable) cmd.option(o.flags, o.help, collect, []);
        else if (o.default !== undefined) cmd.option(o.flags, o.help, o.default);
        else cmd.option(o.flags, o.help);
      }
      cmd.addHelpText("after", spec.help);
    }
    if (spec.passThrough) cmd.passThroughOptions();
    cmd.action((...params: unknown[]) => {
      const args = params.slice(0, spec.args?.length ?? 0).flat() as string[];
      // The command's own words, after its name, tell whether `--` came before the program.
      const words = rawArgs.slice(rawArgs.indexOf(spec.path[spec.path.length - 1] ?? "") + 1);
      return run(spec, { args, flags: cmd.opts(), explicit: explicitCommand(words, valueFlags(cmd)) });
    });
  }
  return program;
}
