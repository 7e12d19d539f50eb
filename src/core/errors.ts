/**
 * Typed errors. Each carries the exit code the CLI ends with; `cli.ts` is the
 * only place that turns them into output, so every message must read as one
 * complete line that says what is wrong and how to fix it.
 *
 * The bundle is split into chunks that may each hold a copy of this module,
 * so errors are recognised by a global brand, not by `instanceof`.
 */

const BRAND = Symbol.for("hpcjob.error");

/** Base class: a failure the user should see as one line, with an exit code. */
export class HpcjobError extends Error {
  readonly exitCode: number;
  /** Extra lines shown after the message (a log tail, sbatch's own words). */
  readonly evidence: string[];

  constructor(message: string, exitCode: number, evidence: string[] = []) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.evidence = evidence;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** True for an error hpcjob raised on purpose (from any chunk of the bundle). */
export function isHpcjobError(e: unknown): e is HpcjobError {
  return typeof e === "object" && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
}

/** Bad flags or arguments: exit 2. */
export class UsageError extends HpcjobError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** A profile, user config or project file that is wrong: exit 2. */
export class ProfileError extends HpcjobError {
  constructor(message: string, evidence: string[] = []) {
    super(message, 2, evidence);
  }
}

/** Slurm refused or failed (sbatch, squeue, scancel ...): exit 1. */
export class SlurmError extends HpcjobError {
  constructor(message: string, evidence: string[] = []) {
    super(message, 1, evidence);
  }
}

/** A process or SSH connection failed: exit 1. */
export class ExecError extends HpcjobError {
  constructor(message: string, evidence: string[] = []) {
    super(message, 1, evidence);
  }
}

/** The job itself failed (ended before it was ready, non-zero exit): exit 1. */
export class JobFailedError extends HpcjobError {
  constructor(message: string, evidence: string[] = []) {
    super(message, 1, evidence);
  }
}
