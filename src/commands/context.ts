/**
 * What a command may know about the world it runs in, gathered once by the
 * CLI and passed down, so commands stay testable in process without
 * touching globals. Commands return data or report events; cli/ prints.
 */
import type { Reporter } from "../core/events.js";
import type { Executor } from "../exec/executor.js";
import type { Placement } from "../exec/placement.js";
import type { Env } from "../profile/load.js";

/** The environment, home and working directory of this invocation, and its outlets. */
export interface Context extends Env {
  cwd: string;
  now: () => Date;
  /**
   * The executor for where the command's Slurm commands run: made on first
   * use, one per command (one SSH connection); cli/ closes it when the command ends.
   */
  connect: (placement: Placement) => Promise<Executor>;
  /** Which cluster this machine's Slurm is (its controller's ClusterName), asked only when a placement depends on it. */
  localClusterName: () => Promise<string>;
  /** Progress while waiting; cli/ shows it on stderr. */
  report: Reporter;
  /** Output that streams (a followed log); cli/ writes it to stdout as it comes. */
  stream: (text: string) => void;
  /** A result shown before the command ends (jupyter --tunnel shows its URL, then holds the tunnel); cli/ prints it like a returned one. */
  show: (data: unknown) => void;
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
}

/** What a command hands back: its result as data (cli/ shows it as text, or as it is with --json) and the exit code when not 0. */
export interface Done<T> {
  data: T;
  exitCode?: number;
}
