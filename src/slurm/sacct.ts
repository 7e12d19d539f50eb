/**
 * Accounting, where the cluster keeps it: how a job or an array task ended
 * after squeue and scontrol have forgotten it (TIMEOUT, OUT_OF_MEMORY,
 * NODE_FAIL, PREEMPTED, CANCELLED, FAILED, with its exit code or signal), and
 * the jobs a user ran in a time window (ps --all). Without slurmdbd sacct
 * fails or lists nothing; callers treat both as "no answer".
 */
import { FIELD_SEP } from "./fields.js";
import { jobIdList } from "./ids.js";
import { type QueueEntry, queueEntry } from "./squeue.js";
import { baseState } from "./states.js";

/** One job or array task as sacct lists it. */
export interface AccountEntry {
  /** 123_4 for an array task. */
  jobId: string;
  /** The bare state (baseState): "CANCELLED by 0" is CANCELLED. */
  state: string;
  /** The exit code of "N:SIG". */
  exitCode: number;
  /** The signal of "N:SIG" when one killed the job (sacct's 0:9). */
  signal?: number;
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
    .map(([jobId = "", state = "", code = ""]) => {
      const [exit, signal] = code.split(":").map((n) => Number(n) || 0);
      return { jobId, state: baseState(state), exitCode: exit ?? 0, ...(signal ? { signal } : {}) };
    });
}

// sacct --format fields of a user's jobs, in the order of squeue's QUEUE_CODES
// so one function reads both. SubmitLine (Slurm 21.08 and later) is the
// sbatch command line, hence the script's path; Comment is stored only where
// the site sets AccountingStoreFlags=job_comment.
const HISTORY_FIELDS = [
  "JobID",
  "State",
  "Reason",
  "NodeList",
  "Start",
  "JobName",
  "User",
  "Comment",
  "SubmitLine",
  "Elapsed",
  "Timelimit",
  "Partition",
];

/** Where SubmitLine is among HISTORY_FIELDS (queueEntry reads it as squeue's script). */
const SUBMIT_LINE = HISTORY_FIELDS.indexOf("SubmitLine");

/** sacct for a user's jobs since `since` (a sacct time such as now-7days), array tasks one each, fields split by FIELD_SEP. */
export function sacctHistoryArgv(user: string, since: string): string[] {
  if (user === "") throw new Error("sacctHistoryArgv needs a user name");
  return [
    "sacct",
    "-n",
    "-P",
    "-X",
    `--delimiter=${FIELD_SEP}`,
    `--user=${user}`,
    `--starttime=${since}`,
    `--format=${HISTORY_FIELDS.join(",")}`,
  ];
}

/** The batch script of an sbatch command line as SubmitLine records it (the last word; hpcjob's own scripts have no spaces in their paths). */
function submittedScript(line: string): string | undefined {
  const words = line.trim().split(/\s+/);
  const last = words[words.length - 1];
  return words[0]?.endsWith("sbatch") && last?.startsWith("/") ? last : undefined;
}

/** The jobs of sacctHistoryArgv's output, as squeue would have listed them; lines of another shape are left out. */
export function parseSacctHistory(stdout: string): QueueEntry[] {
  return stdout
    .split("\n")
    .map((line) => line.split(FIELD_SEP))
    .filter((f) => f.length === HISTORY_FIELDS.length && /^\d+(_(\d+|\[[\d,-]+(%\d+)?\]))?$/.test(f[0] ?? ""))
    .map((f) => {
      const e = queueEntry(f);
      // sacct's words where squeue's differ: "CANCELLED by 1001", "None assigned", the command line for the script.
      return {
        ...e,
        state: baseState(e.state),
        node: e.node === "None assigned" ? undefined : e.node,
        script: submittedScript(f[SUBMIT_LINE] ?? ""),
      };
    });
}
