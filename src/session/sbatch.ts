/**
 * Submitting a written script: the one place `sbatch` is run, for jobs and
 * for conversion jobs alike; its refusal is reported in sbatch's words.
 */
import { SlurmError } from "../core/errors.js";
import type { Executor } from "../exec/executor.js";
import { parseSbatch, sbatchArgv } from "../slurm/index.js";
import { tail } from "./wait.js";

/** sbatch the script; its job id, or a SlurmError with sbatch's words and where the script is. */
export async function sbatchScript(exec: Executor, script: string): Promise<string> {
  const r = await exec.run(sbatchArgv(script));
  if (r.code !== 0) {
    const said = tail(r.stderr.trim() || r.stdout.trim(), 5);
    throw new SlurmError(`sbatch refused the job: ${said[said.length - 1] ?? `exit ${r.code}`}; the script is ${script}`, said);
  }
  return parseSbatch(r.stdout);
}
