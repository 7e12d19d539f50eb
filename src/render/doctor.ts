/**
 * The tiny job of `clusters doctor --job`: the profile's environment (its
 * modules and setup lines, as every job of the profile gets them), then the
 * runtime's version command, on one GPU of a partition in the profile's GPU
 * form. Rendered from templates/doctor.sbatch.njk like every other script.
 */
import type { Profile } from "../profile/schema.js";
import { type Directive, parseDirective } from "../slurm/directives.js";
import { renderTemplate } from "./environment.js";
import { directiveLines } from "./sbatch.js";

/** What the job is for: the partition and GPU type it asks for, the account, the log, and the command that prints the version. */
export interface DoctorJob {
  partition: string;
  gpuType: string;
  account?: string;
  log: string;
  version: string;
}

/** The GPU request for one GPU of `type` in the profile's form. */
function oneGpu(profile: Profile, type: string): Directive {
  const form = profile.slurm.gpuDirective;
  return form === "gres" ? { key: "gres", value: `gpu:${type}:1` } : { key: form, value: `${type}:1` };
}

/** The sbatch script of a doctor job. */
export function renderDoctorJob(profile: Profile, job: DoctorJob): string {
  const skipped = new Set(profile.slurm.skipDirectives);
  const directives: Directive[] = [
    { key: "job-name", value: "hpcjob-doctor" },
    { key: "partition", value: job.partition },
    { key: "time", value: "00:05:00" },
    { key: "output", value: job.log },
    oneGpu(profile, job.gpuType),
    ...(job.account === undefined ? [] : [{ key: "account", value: job.account }]),
    // The site's own options (a constraint, a QOS), as every job of the profile has them.
    ...profile.slurm.directives.map((d) => parseDirective(d, undefined)),
  ].filter((d) => !skipped.has(d.key));
  return renderTemplate("doctor.sbatch.njk", {
    cluster: profile.name,
    partition: job.partition,
    directives: directiveLines(directives),
    modules: profile.environment.modules,
    setup: profile.environment.setup,
    env: Object.entries(profile.environment.env),
    version: job.version,
  });
}
