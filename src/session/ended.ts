/**
 * How a job ended, one copy for every waiter: Slurm's word while it still
 * remembers the job (scontrol, MinJobAge after the end), then accounting's
 * (sacct, where the site keeps it), then what the run directory's log says;
 * and the log's last lines as the evidence of a failure.
 */
import type { Executor } from "../exec/executor.js";
import { runFile } from "../runs/store.js";
import { baseState, parseSacct, parseScontrolShowJob, type QueueEntry, sacctArgv, scontrolShowJobArgv } from "../slurm/index.js";

/** Lines of job.log shown when a job fails. */
export const LOG_TAIL_LINES = 25;

/** The last `n` lines of a text. */
export function tail(text: string, n = LOG_TAIL_LINES): string[] {
  const lines = text.replace(/\n+$/, "").split("\n");
  return lines.slice(Math.max(0, lines.length - n));
}

/** The program's exit code as the batch script logged it ("hpcjob: the program exited with code N"). */
export function loggedExitCode(log: string): number | undefined {
  const all = [...log.matchAll(/^hpcjob: the program exited with code (\d+)$/gm)];
  const last = all[all.length - 1];
  return last ? Number(last[1]) : undefined;
}

/** A job's end as Slurm tells it. */
export interface EndState {
  /** scontrol's JobState, else sacct's, else squeue's last word, else "ENDED" (Slurm has forgotten the job). */
  state: string;
  /** The script's exit code; 128+S when signal S killed it; undefined once Slurm has forgotten the job. */
  exitCode?: number;
  /** For people: "FAILED, exit code 1", "FAILED, killed by signal 9", "CANCELLED". */
  text: string;
}

/** What Slurm's controller, else its accounting, says of an ended job; undefined when neither remembers it. */
async function slurmEnd(exec: Executor, jobId: string): Promise<{ state: string; exitCode?: number; signal?: number } | undefined> {
  const r = await exec.run(scontrolShowJobArgv(jobId));
  const info = r.code === 0 ? parseScontrolShowJob(r.stdout) : undefined;
  if (info) return info;
  // Past MinJobAge the controller has forgotten the job; accounting has not (without slurmdbd sacct fails or lists nothing).
  const a = await exec.run(sacctArgv([jobId]));
  return a.code === 0 ? parseSacct(a.stdout).find((e) => e.jobId === jobId) : undefined;
}

/** How a job ended, from scontrol while Slurm remembers it, then from sacct (else `final`, squeue's last entry for it). */
export async function endState(exec: Executor, jobId: string, final?: QueueEntry): Promise<EndState> {
  const info = await slurmEnd(exec, jobId);
  const state = info?.state ?? final?.state ?? "ENDED";
  // Slurm reports a script killed by signal S as ExitCode=0:S: say "signal S", not "exit code 0".
  const signal = info?.signal ? info.signal : undefined;
  const exitCode = signal !== undefined ? 128 + signal : info?.exitCode;
  let text = state;
  if (baseState(state) !== "CANCELLED" && signal !== undefined) text = `${state}, killed by signal ${signal}`;
  else if (baseState(state) !== "CANCELLED" && exitCode !== undefined) text = `${state}, exit code ${exitCode}`;
  return { state, exitCode, text };
}

/**
 * How a batch job's program ended: Slurm's state, and the exit code the
 * script logged (the program's own, also once Slurm has forgotten the job),
 * else Slurm's, else 0 for COMPLETED and 1 for anything else.
 */
export async function programEnd(
  exec: Executor,
  jobId: string,
  log: string,
  final?: QueueEntry,
): Promise<{ state: string; exitCode: number }> {
  const end = await endState(exec, jobId, final);
  const exitCode = loggedExitCode(log) ?? end.exitCode ?? (baseState(end.state) === "COMPLETED" ? 0 : 1);
  return { state: end.state, exitCode };
}

/** The evidence of a failed job: the last lines of its log, or that the log is empty. */
export async function logEvidence(exec: Executor, runDir: string): Promise<string[]> {
  const logPath = runFile(runDir, "log");
  const log = (await exec.readFile(logPath)) ?? "";
  return log.trim() ? [`last lines of ${logPath}:`, ...tail(log)] : [`${logPath} is empty`];
}
