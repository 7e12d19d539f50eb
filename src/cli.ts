/**
 * The hpcjob command line. Parses flags, calls one command, prints what it
 * returns. The only file that writes to stdout/stderr or sets the exit code;
 * commands are imported lazily so start-up stays close to bare node.
 */
import { writeSync } from "node:fs";
import { createRequire } from "node:module";
import { Command, CommanderError } from "commander";
import type { Context, Output } from "./commands/context.js";
import { isHpcjobError } from "./core/errors.js";
import { describeEvent, type Reporter } from "./core/events.js";
import { versionText } from "./core/version.js";
import type { Executor } from "./exec/executor.js";
import type { Prompter } from "./exec/prompt.js";

const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * Whether a command needs its options defined: only the one being run (and
 * all of them for `hpcjob help`). Defining a hundred options nobody uses is
 * a good part of start-up; the others keep their name and description.
 */
type Wanted = (cmd: Command) => boolean;

/** The options every job-submitting command takes. */
function requestOptions(cmd: Command, wanted: Wanted): Command {
  if (!wanted(cmd)) return cmd;
  return cmd
    .option("-c, --cluster <name>", "cluster profile (see: hpcjob clusters list)")
    .option("-g, --gpus <n|type:n>", "GPUs: a count (1) or type and count (A40:2)")
    .option("--cpus <n>", "CPUs per task (default: the profile's CPUs per GPU x GPUs)")
    .option("--mem <size>", "memory, in Slurm units (32G, 8000M)")
    .option("-t, --time <limit>", "time limit: M, H:M:S, D-H, D-H:M:S ...")
    .option("-p, --partition <name>", "partition (default: the profile's)")
    .option("-A, --account <name>", "account to charge")
    .option("-i, --image <image>", "container image (.sif, .sqsh, or docker:// for Apptainer)")
    .option("--bind <src[:dst[:ro]]>", "bind a host path into the container (repeatable)", collect, [])
    .option("-e, --env <NAME=VALUE>", "set a variable in the job (repeatable)", collect, [])
    .option("--sbatch <option>", "add a raw sbatch option, e.g. --sbatch=--constraint=MEM512 (repeatable)", collect, [])
    .option("-n, --name <name>", "job name (letters, digits, . _ -)")
    .option("--workdir <dir>", "where the job runs on the cluster (default: here on a login node, your cluster home from a laptop)")
    .option("--dry-run", "print the sbatch script and submit nothing");
}

/** How a command reaches the cluster: decided by itself unless forced. */
function connectionOptions(cmd: Command, wanted: Wanted): Command {
  if (!wanted(cmd)) return cmd;
  return cmd
    .option("--local", "run Slurm's commands on this machine (the login node)")
    .option("--remote <[user@]host>", "reach the cluster over SSH through this host or ~/.ssh/config alias")
    .option("--accept-new-host", "add an unknown login node's host key to ~/.ssh/known_hosts (never a changed one)");
}

/** The options of commands that look at jobs: which cluster and how to reach it. */
function jobsOptions(cmd: Command, wanted: Wanted): Command {
  if (!wanted(cmd)) return cmd;
  return connectionOptions(cmd.option("-c, --cluster <name>", "the cluster whose jobs to look at (from a laptop)"), wanted);
}

/**
 * True when the user put `--` before the program: then it runs as given.
 * Reads the command's own words (`args`, after `batch`) as commander does:
 * an option that takes a value takes the next word, even `--`, so
 * `--name python -- python x.py` is explicit and `--name -- x.py` is not.
 */
export function explicitCommand(args: readonly string[], takesValue: ReadonlySet<string>): boolean {
  for (let i = 0; i < args.length; i++) {
    const word = args[i] ?? "";
    if (word === "--") return true;
    if (word.startsWith("--")) {
      if (!word.includes("=") && takesValue.has(word)) i++;
    } else if (word.startsWith("-") && word.length > 1) {
      // A cluster of short options (-fn NAME): the first that takes a value takes the rest, or the next word.
      const at = [...word.slice(1)].findIndex((c) => takesValue.has(`-${c}`));
      if (at >= 0 && at === word.length - 2) i++;
    } else {
      return false; // the program
    }
  }
  return false;
}

/** The flags of a command's options that take a value (`--name`, `-n`), for explicitCommand. */
function valueFlags(cmd: Command): Set<string> {
  return new Set(cmd.options.filter((o) => o.required).flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f))));
}

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

type Run = () => Promise<Output>;

/** The commands, loaded on first use (a chunk of its own in the bundle). */
const commands = () => import("./commands/index.js");

/** Build the commander program; `run` receives each command's work. */
export function buildProgram(ctx: Context, run: (work: Run, json: boolean) => Promise<void>, rawArgs: readonly string[]): Command {
  const invoked = rawArgs.find((a) => !a.startsWith("-"));
  const wanted: Wanted = (cmd) => invoked === undefined || invoked === "help" || cmd.name() === invoked || cmd.parent?.name() === invoked;
  const program = new Command("hpcjob")
    .description("Run your container on a Slurm GPU node: Jupyter or batch jobs, from cluster profiles.")
    .version(versionText(), "-V, --version", "print the version and the commit it was built from")
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .configureOutput({
      writeOut: (text) => writeAll(1, text),
      writeErr: (text) => writeAll(2, text),
      outputError: (text, write) => write(oneLineUsageError(text)),
    })
    .exitOverride();

  connectionOptions(requestOptions(program.command("jupyter"), wanted), wanted)
    .description("start Jupyter on a compute node and print the ssh tunnel and URL")
    .option("--timeout <duration>", "give up (and cancel the job) if Jupyter is not ready in time: 90s, 10m, 2h")
    .option("--keep", "on Ctrl-C or --timeout leave the job running (reconnect with hpcjob attach)")
    .option("--tunnel", "from your computer: open the tunnel through hpcjob's SSH connection and hold it until Ctrl-C")
    .option("--open", "with --tunnel: open Jupyter in the browser")
    .option("--json", "print the result as JSON (progress goes to stderr)")
    .addHelpText(
      "after",
      `
Examples:
  hpcjob jupyter --cluster vera --gpus 1 --account C3SE2024-1-2 --image ~/pytorch.sif
  hpcjob jupyter --gpus A40:1 --time 8:00:00 --timeout 30m --keep
  hpcjob jupyter --cluster vera --gpus 1 --tunnel --open       # from your laptop
  hpcjob jupyter --cluster penn --gpus B200:1 --image /vast/projects/lab/me/torch.sqsh --dry-run`,
    )
    .action((flags, cmd: Command) => run(async () => (await commands()).jupyter(flags, ctx), Boolean(cmd.opts().json)));

  connectionOptions(requestOptions(program.command("batch"), wanted), wanted)
    .description("run a script or program in the container as a batch job")
    .argument("<program...>", "a .py or .sh script and its arguments, or -- COMMAND ARGS...")
    .option("-f, --follow", "stream the job's log and exit with its exit code")
    .option("--json", "print the result as JSON")
    .passThroughOptions()
    .addHelpText(
      "after",
      `
Options go before the program; everything after it is passed to it unchanged.
A .py script runs with python, a .sh script with bash; anything else goes after --.

Examples:
  hpcjob batch --cluster vera --gpus A40:2 --image ~/pytorch.sif train.py --lr 3e-4
  hpcjob batch --gpus 1 --follow train.py --epochs 1
  hpcjob batch --cluster penn --gpus 1 --image /abs/img.sqsh --dry-run train.py --epochs 3
  hpcjob batch --cluster vera --image ~/tools.sif -- ./simulate --steps 100`,
    )
    .action((argv: string[], flags, cmd: Command) =>
      run(
        async () =>
          (await commands()).batch(argv, explicitCommand(rawArgs.slice(rawArgs.indexOf("batch") + 1), valueFlags(cmd)), flags, ctx),
        Boolean(cmd.opts().json),
      ),
    );

  jobsOptions(program.command("ps"), wanted)
    .description("the jobs hpcjob started that Slurm still lists")
    .option("--json", "print the result as JSON")
    .addHelpText("after", "\nExample:\n  hpcjob ps")
    .action((flags) => run(async () => (await commands()).ps(flags, ctx), Boolean(flags.json)));
  jobsOptions(program.command("logs"), wanted)
    .description("print a job's log, or follow it until the job ends")
    .argument("<job>", "job id or run directory name")
    .option("-f, --follow", "keep printing as the log grows; exit with the job's exit code")
    .addHelpText("after", "\nExamples:\n  hpcjob logs 4242\n  hpcjob logs -f 4242")
    .action((job: string, flags) => run(async () => (await commands()).logs(job, flags, ctx), false));
  jobsOptions(program.command("cancel"), wanted)
    .description("cancel a job hpcjob started")
    .argument("<job>", "job id or run directory name")
    .option("--json", "print the result as JSON")
    .addHelpText("after", "\nExample:\n  hpcjob cancel 4242")
    .action((job: string, flags) => run(async () => (await commands()).cancel(job, flags, ctx), Boolean(flags.json)));
  jobsOptions(program.command("attach"), wanted)
    .description("print the tunnel and URL of a Jupyter job again (waits if it is not ready yet)")
    .argument("<job>", "job id or run directory name")
    .option("--timeout <duration>", "stop waiting after this long (the job keeps running)")
    .option("--json", "print the result as JSON")
    .addHelpText("after", "\nExamples:\n  hpcjob attach 4242\n  hpcjob attach 20261122-101500-jupyter --json")
    .action((job: string, flags) => run(async () => (await commands()).attach(job, flags, ctx), Boolean(flags.json)));

  const remote = program.command("remote").description("set up hpcjob on a cluster's login node");
  connectionOptions(remote.command("install"), wanted)
    .description("copy this single executable to the login node (skipped when the same file is there)")
    .option("-c, --cluster <name>", "the cluster whose login node to install on")
    .option("--path <path>", "where to put it on the cluster", "~/.local/bin/hpcjob")
    .option("--binary <file>", "the file to copy (default: the hpcjob executable that is running)")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  hpcjob remote install --cluster vera\n  hpcjob remote install --cluster penn --path ~/bin/hpcjob --binary ./hpcjob-linux-x64",
    )
    .action((flags) => run(async () => (await commands()).remoteInstall(flags, ctx), Boolean(flags.json)));

  const clusters = program.command("clusters").description("list, show and check cluster profiles");
  clusters
    .command("list")
    .description("every cluster profile hpcjob can find, and where it comes from")
    .option("--json", "print the result as JSON")
    .addHelpText("after", "\nExamples:\n  hpcjob clusters list\n  HPCJOB_CLUSTERS=~/group-profiles hpcjob clusters list --json")
    .action((flags) => run(async () => (await commands()).list(flags, ctx), Boolean(flags.json)));
  clusters
    .command("show")
    .description("what a cluster offers: partitions, GPUs, limits, runtime")
    .argument("<name>", "cluster profile name")
    .option("--json", "print the resolved profile as JSON")
    .option("--yaml", "print the resolved profile as YAML")
    .option("--raw", "print the profile file as written, comments included")
    .addHelpText("after", "\nExample:\n  hpcjob clusters show custom --raw > ~/.config/hpcjob/clusters/mysite.yaml")
    .action((name: string, flags) => run(async () => (await commands()).show(name, flags, ctx), Boolean(flags.json)));
  clusters
    .command("validate")
    .description("check a profile file, or every profile in a folder, and say exactly what is wrong")
    .argument("<file|dir>", "a profile .yaml file, or a folder of them (each checked; exit 2 if any is broken)")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  hpcjob clusters validate ~/.config/hpcjob/clusters/mysite.yaml\n  hpcjob clusters validate profiles/    # a group's profile repository, e.g. in CI",
    )
    .action((target: string, flags) => run(async () => (await commands()).validate(target, flags, ctx), Boolean(flags.json)));
  clusters
    .command("schema")
    .description("print the JSON Schema of profiles, for editor completion")
    .addHelpText(
      "after",
      "\nExample:\n  hpcjob clusters schema > ~/.config/hpcjob/profile.schema.json\n  # then, first line of a profile: # yaml-language-server: $schema=../profile.schema.json",
    )
    .action(() => run(async () => (await commands()).schema(), false));

  return program;
}

/**
 * Write all of `text` to a file descriptor (1 or 2) at once. Not through
 * process.stdout/stderr: creating those streams loads Node's stream modules,
 * a tenth of a dry run's start-up.
 */
function writeAll(fd: 1 | 2, text: string): void {
  const buf = Buffer.from(text);
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      // A non-blocking pipe that is full: wait for the reader (rare; only huge output).
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

/** Print a command's output: JSON when asked for, text otherwise. */
function print(out: Output, json: boolean): void {
  if (json && out.json !== undefined) writeAll(1, `${JSON.stringify(out.json, null, 2)}\n`);
  else if (out.text !== undefined) writeAll(1, out.text.endsWith("\n") ? out.text : `${out.text}\n`);
  if (out.exitCode !== undefined) process.exitCode = out.exitCode;
}

const SPINNER = ["|", "/", "-", "\\"];

/**
 * Progress on stderr: on a terminal one live status line with a spinner,
 * otherwise one line per change.
 */
function progressPrinter(): { report: Reporter; done: () => void } {
  // Asked on first use: touching process.stderr costs start-up time.
  let isTty: boolean | undefined;
  const ttyNow = () => {
    isTty ??= Boolean(process.stderr.isTTY);
    return isTty;
  };
  let line = "";
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  // Cut to the terminal's width: a wrapped line could not be redrawn in place.
  const draw = () => {
    const width = Math.max(20, (process.stderr.columns || 80) - 3);
    const shown = line.length > width ? `${line.slice(0, width - 1)}…` : line;
    process.stderr.write(`\r\x1b[K${SPINNER[frame++ % SPINNER.length]} ${shown}`);
  };
  const done = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    if (line && ttyNow()) process.stderr.write("\r\x1b[K");
    line = "";
  };
  const report: Reporter = (e) => {
    const text = describeEvent(e);
    if (!ttyNow()) {
      writeAll(2, `hpcjob: ${text}\n`);
      return;
    }
    if (e.kind === "submitted" || e.kind === "note") {
      // Worth keeping on screen: printed as its own line above the status line.
      process.stderr.write(`\r\x1b[K${text}\n`);
      if (line) draw();
      return;
    }
    line = text;
    draw();
    timer ??= setInterval(draw, 120).unref();
  };
  return { report, done };
}

/** A Prompter on the terminal (stderr for the question, stdin for the answer, nothing echoed when hidden). */
function terminalPrompter(clearStatus: () => void): Prompter {
  return {
    // A getter: touching process.stdin costs start-up time, and only SSH logins ask.
    get available() {
      return Boolean(process.stdin.isTTY && process.stderr.isTTY);
    },
    ask: async (question, hidden) => {
      clearStatus();
      // require, not import(): the launcher compiles chunks with vm.Script, which has no loader for import().
      const { createInterface } = createRequire(import.meta.url)("node:readline") as typeof import("node:readline");
      const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
      if (hidden) {
        // Echo nothing typed after the question.
        const out = rl as unknown as { _writeToOutput: (s: string) => void };
        out._writeToOutput = (s: string) => {
          if (s.includes(question)) process.stderr.write(question);
        };
      }
      try {
        return await new Promise<string>((resolve) => rl.question(question, resolve));
      } finally {
        if (hidden) process.stderr.write("\n");
        rl.close();
      }
    },
  };
}

/** The Context of the running process: its environment, one executor, stderr progress, Ctrl-C. */
function processContext(
  progress: { report: Reporter; done: () => void },
  signal: AbortSignal,
): { ctx: Context; close: () => Promise<void> } {
  let executor: Promise<Executor> | undefined;
  const env = process.env;
  const home = env.HOME ?? "/";
  const prompter = terminalPrompter(progress.done);
  const ctx: Context = {
    env,
    home,
    cwd: process.cwd(),
    now: () => new Date(),
    executor: (profile, flags = {}) => {
      executor ??= commands().then(({ makeExecutor }) => makeExecutor(flags, profile, { env, home, prompter, report: progress.report }));
      return executor;
    },
    prompter,
    report: progress.report,
    stream: (text) => process.stdout.write(text),
    signal,
  };
  const close = async () => {
    const e = await executor?.catch(() => undefined);
    await e?.dispose();
  };
  return { ctx, close };
}

/** Run hpcjob with the process's arguments; the single place errors become exit codes. */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  const aborter = new AbortController();
  // First Ctrl-C: stop waiting (the command cancels the job and says so). Second: leave now.
  process.on("SIGINT", () => {
    if (aborter.signal.aborted) process.exit(130);
    aborter.abort();
  });
  const progress = progressPrinter();
  const { ctx, close } = processContext(progress, aborter.signal);
  const rawArgs = argv.slice(2);
  const run = async (work: Run, json: boolean) => {
    let out: Output;
    try {
      out = await work();
    } finally {
      progress.done();
    }
    print(out, json);
  };
  try {
    await buildProgram(ctx, run, rawArgs).parseAsync(argv as string[]);
  } catch (e) {
    process.exitCode = exitCodeFor(e);
  } finally {
    // One connection per command: closed on success, on errors and after Ctrl-C.
    await close();
  }
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
