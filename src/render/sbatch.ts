/**
 * The #SBATCH header, generated in one function: every option hpcjob sets,
 * plus the profile's and the user's raw ones, minus the ones the site
 * rejects, sorted by name and each value quoted.
 */
import type { JobRequest } from "../request/build.js";
import type { Directive } from "../request/directives.js";
import { quote } from "./quote.js";

/** The comment hpcjob tags its jobs with, so `ps` can find them. */
export const JOB_COMMENT = "hpcjob";

/** The GPU request spelled the way this cluster wants it, or undefined for none. */
export function gpuDirective(req: JobRequest): Directive | undefined {
  const { count, type } = req.gpus;
  if (count === 0) return undefined;
  const n = type ? `${type}:${count}` : String(count);
  switch (req.profile.slurm.gpuDirective) {
    case "gres":
      return { key: "gres", value: `gpu:${n}` };
    case "gpus":
      return { key: "gpus", value: n };
    case "gpus-per-node":
      return { key: "gpus-per-node", value: n };
  }
}

/** The options hpcjob sets itself from the request, before the site's skip list. */
function ownDirectives(req: JobRequest, runDir: string): Directive[] {
  const out: Directive[] = [
    { key: "job-name", value: req.name },
    { key: "output", value: `${runDir}/job.log` },
    // Append, so a requeued (preempted) job keeps the log of its earlier runs.
    { key: "open-mode", value: "append" },
    { key: "chdir", value: req.workdir },
    { key: "partition", value: req.partition },
    { key: "time", value: req.time },
    { key: "cpus-per-task", value: String(req.cpus) },
    { key: "comment", value: JOB_COMMENT },
  ];
  if (req.account) out.push({ key: "account", value: req.account });
  if (req.mem) out.push({ key: "mem", value: req.mem });
  const gpu = gpuDirective(req);
  if (gpu) out.push(gpu);
  return out;
}

/** True when the site's profile lets an option through (not in slurm.skipDirectives). */
export function sentBy(req: Pick<JobRequest, "profile">): (d: { key: string }) => boolean {
  const skip = new Set(req.profile.slurm.skipDirectives);
  return (d) => !skip.has(d.key);
}

/** The long names of the options hpcjob itself sends for a request. */
export function ownOptions(req: JobRequest): string[] {
  return ownDirectives(req, "")
    .filter(sentBy(req))
    .map((d) => d.key);
}

/** The `#SBATCH` lines for a request: hpcjob's options, the profile's and the user's, minus the site's skip list, sorted by option name, values quoted. */
export function sbatchLines(req: JobRequest, runDir: string): string[] {
  return [...ownDirectives(req, runDir), ...req.directives]
    .filter(sentBy(req))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((d) => (d.value === undefined ? `#SBATCH --${d.key}` : `#SBATCH --${d.key}=${quote(d.value)}`));
}
