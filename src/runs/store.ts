/**
 * A job's run directory on the cluster (~/.hpcjob/runs/STAMP-NAME, mode
 * 0700): job.sbatch, request.json (and git.diff of a dirty tree), job.id,
 * job.log and, for Jupyter, connection.json. Everything goes through the
 * Executor, so the same code works on the login node and over SSH.
 */
import { posix } from "node:path";
import { UsageError } from "../core/errors.js";
import type { Executor } from "../exec/executor.js";
import { runsRoot } from "./paths.js";

/** The files of a run directory. */
export const RUN_FILES = {
  script: "job.sbatch",
  request: "request.json",
  jobId: "job.id",
  log: "job.log",
  connection: "connection.json",
  /** `git diff --binary HEAD` of the workdir, when its tree was dirty. */
  diff: "git.diff",
} as const;

/** Where a running Jupyter listens, as the job wrote it. */
export interface Connection {
  node: string;
  port: number;
  token: string;
  jobId?: string;
}

/** A run directory and the job submitted from it, if any. */
export interface Run {
  dir: string;
  name: string;
  jobId?: string;
}

/** Path of one file of a run. */
export function runFile(dir: string, file: keyof typeof RUN_FILES): string {
  return posix.join(dir, RUN_FILES[file]);
}

/**
 * Create a fresh run directory (0700); `base` gets -2, -3 ... if it exists.
 * Each name is taken by creating it, never by looking first, so runs
 * started in the same second each get their own.
 */
export async function createRunDir(exec: Executor, base: string): Promise<string> {
  await exec.mkdir(posix.dirname(base), 0o700);
  for (let n = 1; n < 100; n++) {
    const dir = n === 1 ? base : `${base}-${n}`;
    if (await exec.createDir(dir, 0o700)) return dir;
  }
  throw new UsageError(`too many run directories named ${base}; give the job another --name`);
}

/** connection.json, or undefined until the job has written a whole one. */
export async function readConnection(exec: Executor, dir: string): Promise<Connection | undefined> {
  const text = await exec.readFile(runFile(dir, "connection"));
  if (!text) return undefined;
  try {
    const c = JSON.parse(text) as Connection;
    if (typeof c.node !== "string" || typeof c.port !== "number" || typeof c.token !== "string") return undefined;
    return c;
  } catch {
    return undefined;
  }
}

/** Names of the run directories, newest first. */
async function runNames(exec: Executor, home: string): Promise<string[]> {
  return (await exec.list(runsRoot(home)))
    .filter((n) => /^\d{8}-\d{6}-/.test(n))
    .sort()
    .reverse();
}

/** A run directory and the job id it recorded, if any. */
async function runAt(exec: Executor, dir: string): Promise<Run> {
  const jobId = (await exec.readFile(runFile(dir, "jobId")))?.trim();
  return jobId ? { dir, name: posix.basename(dir), jobId } : { dir, name: posix.basename(dir) };
}

// Job ids read at once while looking for one: a few round trips over SSH, and
// within a login node's MaxSessions where each read is a command of its own.
const LOOKUP_BATCH = 8;

/**
 * The run a user means by `ref`: a job id, a run directory's name, or its
 * path. A job id is looked for newest run first, a few at a time, and the
 * search stops at the first match: the run asked for is nearly always recent,
 * and a home may hold thousands. A UsageError says how to find the right one.
 */
export async function findRun(exec: Executor, home: string, ref: string): Promise<Run> {
  const missing = () => new UsageError(`no hpcjob run for "${ref}" in ${runsRoot(home)}; give a job id or run name from hpcjob ps`);
  if (ref.includes("/")) {
    const dir = posix.resolve(ref);
    if (!(await exec.stat(dir))) throw new UsageError(`no run directory ${ref}; see hpcjob ps`);
    return runAt(exec, dir);
  }
  const names = await runNames(exec, home);
  const dirOf = (name: string) => posix.join(runsRoot(home), name);
  if (!/^\d+$/.test(ref)) {
    if (!names.includes(ref)) throw missing();
    return runAt(exec, dirOf(ref));
  }
  for (let i = 0; i < names.length; i += LOOKUP_BATCH) {
    const runs = await Promise.all(names.slice(i, i + LOOKUP_BATCH).map((n) => runAt(exec, dirOf(n))));
    const found = runs.find((r) => r.jobId === ref);
    if (found) return found;
  }
  throw missing();
}
