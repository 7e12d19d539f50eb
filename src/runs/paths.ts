/**
 * Naming a job's run directory: ~/.hpcjob/runs/<YYYYmmdd-HHMMSS>-<name>.
 */
import { posix } from "node:path";

/** The folder under the cluster home that holds every run directory. */
export function runsRoot(home: string): string {
  return posix.join(home, ".hpcjob", "runs");
}

/** `YYYYmmdd-HHMMSS` in UTC, for run directory names that sort by time. */
export function stamp(now: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
}

/** The run directory for a job named `name` submitted at `now`. */
export function runDirFor(home: string, name: string, now: Date): string {
  return posix.join(runsRoot(home), `${stamp(now)}-${name}`);
}
