/**
 * Submitting: the sbatch command line and the job id it prints. Everything
 * else about the job is in the script's #SBATCH lines, so the argv is fixed.
 */
import { SlurmError } from "../core/errors.js";

/** The comment hpcjob tags its jobs with (--comment), so `hpcjob jobs` can find them. */
export const JOB_COMMENT = "hpcjob";

/** `sbatch --parsable SCRIPT`: prints only "ID" (or "ID;CLUSTER" on a multi-cluster site). */
export function sbatchArgv(scriptPath: string): string[] {
  return ["sbatch", "--parsable", scriptPath];
}

/** The job id in sbatch --parsable's output; throws SlurmError when there is none. */
export function parseSbatch(stdout: string): string {
  // The id is the last line; a site's job_submit plugin may print notes before it.
  const lines = stdout.split(/\r?\n/).map((l) => l.trim());
  const last = lines.filter((l) => l !== "").pop() ?? "";
  const m = /^(\d+)(?:;\S+)?$/.exec(last);
  if (!m?.[1]) {
    const said = stdout.trim() ? [stdout.trim()] : [];
    throw new SlurmError(
      `sbatch did not print a job id${said.length ? "" : " (its output was empty)"}; check with squeue --me before submitting again`,
      said,
    );
  }
  return m[1];
}
