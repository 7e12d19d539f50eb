/**
 * Accounting, where the cluster keeps it: how array tasks that left no
 * record of their own ended (TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, PREEMPTED,
 * CANCELLED, FAILED). Without slurmdbd sacct fails or lists nothing; callers
 * treat both as "no answer".
 */
import { jobIdList } from "./ids.js";
import { baseState } from "./states.js";

/** One job or array task as sacct lists it. */
export interface AccountEntry {
  /** 123_4 for an array task. */
  jobId: string;
  /** The bare state (baseState): "CANCELLED by 0" is CANCELLED. */
  state: string;
  /** The exit code of "N:SIG". */
  exitCode: number;
}

/** sacct for the jobs (an array id lists all its tasks), one line per allocation, fields split by "|". */
export function sacctArgv(jobIds: string[]): string[] {
  return ["sacct", "-n", "-P", "-X", `--jobs=${jobIdList(jobIds)}`, "--format=JobID,State,ExitCode"];
}

/** The entries of sacctArgv's output; lines of another shape are left out. */
export function parseSacct(stdout: string): AccountEntry[] {
  return stdout
    .split("\n")
    .map((line) => line.split("|"))
    .filter((f) => f.length === 3 && /^\d+_\d+$|^\d+$/.test(f[0] ?? ""))
    .map(([jobId = "", state = "", code = ""]) => ({ jobId, state: baseState(state), exitCode: Number(code.split(":")[0]) || 0 }));
}
