/**
 * Submitting a written script: the one place `sbatch` is run, for jobs and
 * for conversion jobs alike; its refusal is reported in sbatch's words.
 */
import { SlurmError } from "../core/errors.js";
import type { Executor } from "../exec/executor.js";
import { isInvalidAccount, parseSbatch, sbatchArgv } from "../slurm/index.js";
import { tail } from "./wait.js";

/** sbatch the script; its job id, or a SlurmError with sbatch's words and where the script is. */
export async function sbatchScript(exec: Executor, script: string): Promise<string> {
  const r = await exec.run(sbatchArgv(script));
  if (r.code !== 0) {
    const said = tail(r.stderr.trim() || r.stdout.trim(), 5);
    const why = said[said.length - 1] ?? `exit ${r.code}`;
    // The one refusal a user fixes with a flag: say which and where to find their accounts.
    const fix = isInvalidAccount(r.stderr)
      ? "; the cluster accepts jobs only under a Slurm account you are in, allowed on the partition: list yours with sacctmgr -nP show assoc user=$USER format=account,partition and pass --account (or account: in config.yaml)"
      : "";
    throw new SlurmError(`sbatch refused the job: ${why}${fix}; the script is ${script}`, said);
  }
  return parseSbatch(r.stdout);
}
