/**
 * What a command may know about the world it runs in, gathered once by the
 * CLI and passed down, so commands stay testable without touching globals.
 */
import type { Env } from "./profile/load.js";

/** The environment, home and working directory of this invocation. */
export interface Context extends Env {
  cwd: string;
  now: () => Date;
}

/** The Context of the running process. */
export function processContext(): Context {
  return {
    env: process.env,
    home: process.env.HOME ?? "/",
    cwd: process.cwd(),
    now: () => new Date(),
  };
}

/** What a command hands back for the CLI to print. */
export interface Output {
  /** Text for people, printed on stdout. */
  text?: string;
  /** The result for --json, printed on stdout instead of `text`. */
  json?: unknown;
}
