/**
 * Cancelling: the scancel command line. scancel takes job ids as bare
 * words, so each id is checked first (see ids.ts): "--user=me" would cancel
 * every job of the user.
 */
import { jobIdList } from "./ids.js";

/** `scancel ID...` for the given jobs. */
export function scancelArgv(jobIds: string[]): string[] {
  jobIdList(jobIds);
  return ["scancel", ...jobIds];
}
