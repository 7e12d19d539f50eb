/**
 * `hpcjob jupyter`: Jupyter on a compute node.
 */
import type { Context, Output } from "../context.js";
import { UsageError } from "../errors.js";
import type { RequestFlags } from "../request/build.js";
import { prepare } from "./submitOptions.js";

/** Flags of `hpcjob jupyter`. */
export interface JupyterFlags extends RequestFlags {
  dryRun?: boolean;
}

/** Render (and, later, submit) a Jupyter job. */
export async function jupyter(flags: JupyterFlags, ctx: Context): Promise<Output> {
  const prepared = await prepare(flags, { kind: "jupyter" }, ctx);
  if (flags.dryRun) return { text: prepared.script };
  throw new UsageError("submitting needs a Slurm cluster: this build only renders; add --dry-run to print the script");
}
