/**
 * The #SBATCH header, written in one function: the options the request
 * decided (request/sbatch.ts), sorted by name, each value quoted.
 */
import { quote } from "../core/quote.js";
import type { SitedRequest } from "../request/job.js";
import { jobDirectives } from "../request/sbatch.js";

/** The `#SBATCH` lines for a request at its site (its log in `runDir`), sorted by option name, values quoted. */
export function sbatchLines(req: SitedRequest, runDir: string): string[] {
  return jobDirectives(req, runDir)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((d) => (d.value === undefined ? `#SBATCH --${d.key}` : `#SBATCH --${d.key}=${quote(d.value)}`));
}
