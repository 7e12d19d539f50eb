/**
 * The #SBATCH header, written in one function: the options a job's request
 * decided (request/sbatch.ts, image/conversion.ts), sorted by name, each
 * value quoted.
 */
import { quote } from "../core/quote.js";
import type { SitedRequest } from "../request/job.js";
import { jobDirectives } from "../request/sbatch.js";
import type { ArrayPart } from "../slurm/arrays.js";
import type { Directive } from "../slurm/directives.js";

/** `#SBATCH` lines for sbatch options, sorted by option name, values quoted: every script's header is written here. */
export function directiveLines(directives: readonly Directive[]): string[] {
  return [...directives]
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((d) => (d.value === undefined ? `#SBATCH --${d.key}` : `#SBATCH --${d.key}=${quote(d.value)}`));
}

/** The `#SBATCH` lines for a request at its site (its log in `runDir`; a sweep's for array `part`). */
export function sbatchLines(req: SitedRequest, runDir: string, part?: ArrayPart): string[] {
  return directiveLines(jobDirectives(req, runDir, part));
}
