/**
 * `hpcjob batch`: a script or program in the container, as a batch job.
 */
import type { Context, Output } from "../context.js";
import { UsageError } from "../errors.js";
import type { RequestFlags } from "../request/build.js";
import { prepare } from "./submitOptions.js";

/** Flags of `hpcjob batch`. */
export interface BatchFlags extends RequestFlags {
  dryRun?: boolean;
}

/** Render (and, later, submit) a batch job running `argv`. */
export async function batch(argv: string[], explicit: boolean, flags: BatchFlags, ctx: Context): Promise<Output> {
  const prepared = await prepare(flags, { kind: "batch", argv, explicit }, ctx);
  if (flags.dryRun) return { text: prepared.script };
  throw new UsageError("submitting needs a Slurm cluster: this build only renders; add --dry-run to print the script");
}
