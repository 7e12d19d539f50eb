/**
 * What a command may know about the world it runs in, gathered once by the
 * CLI and passed down, so commands stay testable without touching globals.
 */

import type { Reporter } from "../core/events.js";
import type { ConnectionFlags } from "../exec/choose.js";
import type { Executor } from "../exec/executor.js";
import type { Prompter } from "../exec/prompt.js";
import type { Env } from "../profile/load.js";
import type { Profile } from "../profile/schema.js";

/** The environment, home and working directory of this invocation, and its outlets. */
export interface Context extends Env {
  cwd: string;
  now: () => Date;
  /**
   * The executor for the cluster: local on a machine with Slurm, SSH to the
   * profile's login host elsewhere. Made on first use, one per command; cli.ts
   * closes it when the command ends.
   */
  executor: (profile?: Profile, flags?: ConnectionFlags) => Promise<Executor>;
  /** Questions on the terminal (passphrases, two-factor codes). */
  prompter: Prompter;
  /** Progress while waiting; cli.ts shows it on stderr. */
  report: Reporter;
  /** Output that streams (a followed log); cli.ts writes it to stdout. */
  stream: (text: string) => void;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
}

/** What a command hands back for the CLI to print. */
export interface Output {
  /** Text for people, printed on stdout. */
  text?: string;
  /** The result for --json, printed on stdout instead of `text`. */
  json?: unknown;
  /** The exit code, when it is not 0 (batch --follow ends with the job's). */
  exitCode?: number;
}
