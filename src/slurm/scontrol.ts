/**
 * One job in detail: `scontrol show job`, read once a job has ended, for its
 * exit code (squeue -o has no field for it). Like squeue, scontrol knows a
 * job only until MinJobAge (300 s by default) after it ends; then it says
 * "Invalid job id specified" and only the run directory is left.
 */
import { orNone } from "./fields.js";
import { jobIdList } from "./ids.js";

/** What hpcjob needs from `scontrol show job`. */
export interface JobInfo {
  jobId: string;
  /** JobState: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT ... */
  state: string;
  /** Reason, as scontrol prints it (spaces turned into "_"); undefined for "None". */
  reason?: string;
  /** N of ExitCode=N:S: the script's exit status (0 when a signal killed it). */
  exitCode?: number;
  /** S of ExitCode=N:S: the signal that killed the script, 0 for none. */
  signal?: number;
  /** NodeList; undefined while none is assigned. */
  node?: string;
  /** StdOut: the job's output file. */
  stdout?: string;
  /** Command: the batch script's path; undefined for --wrap jobs. */
  command?: string;
  workDir?: string;
  /** Comment; undefined when the job has none (scontrol then leaves the key out). */
  comment?: string;
  /** RunTime, e.g. "00:01:02" or "1-02:03:04". */
  runTime?: string;
}

/** `scontrol show job -o ID`: the job on one line (without -o, one key group per line). */
export function scontrolShowJobArgv(jobId: string): string[] {
  return ["scontrol", "show", "job", "-o", jobIdList([jobId])];
}

// Every key `scontrol show job` prints (Slurm 22.05, and later versions'
// additions). Values are not quoted, so a value may hold " Word=": after a
// key whose value is free text, only these keys end it.
const KNOWN_KEYS = new Set(
  `JobId ArrayJobId ArrayTaskId ArrayTaskThrottle HetJobId HetJobOffset HetJobIdSet JobName UserId GroupId
  MCS_label Priority Nice Account QOS WCKey JobState Reason FailedNode Dependency Requeue Restarts BatchFlag
  Reboot ExitCode DerivedExitCode RunTime TimeLimit TimeMin SubmitTime EligibleTime AccrueTime ResizeTime
  StartTime EndTime Deadline CronJob CrontabSpec PreemptEligibleTime PreemptTime SuspendTime SecsPreSuspend
  LastSchedEval Scheduler Partition AllocNode:Sid ReqNodeList ExcNodeList NodeList SchedNodeList BatchFeatures
  BatchHost StepMgrEnabled FedOrigin FedViableSiblings FedActiveSiblings NumNodes NumCPUs NumTasks CPUs/Task
  ReqB:S:C:T TRES ReqTRES AllocTRES Socks/Node NtasksPerN:B:S:C CoreSpec ThreadSpec JOB_GRES Nodes CPU_IDs Mem
  GRES MinCPUsNode MinMemoryNode MinMemoryCPU MinMemoryTRES MinTmpDiskNode Features DelayBoot ClusterFeatures
  Prefer Reservation OverSubscribe Contiguous Licenses LicensesAlloc Network Command WorkDir AdminComment
  SystemComment Comment Extra StdErr StdIn StdOut Switches Wait-for-Switch BurstBuffer BurstBufferState
  CpuFreqMin CpuFreqMax CpuFreqGov GresEnforceBind GresAllowTaskSharing GresOneTaskPerSharing
  KillOInInvalidDependent SpreadJob OOMKillStep CpusPerTres MemPerTres TresBind TresFreq TresPerJob TresPerNode
  TresPerSocket TresPerTask MailUser MailType NtasksPerTRES Container ContainerID SELinuxContext ResvPorts Power`.split(/\s+/),
);

// Keys whose values a user chooses and may hold spaces or "=".
const FREE_TEXT = new Set([
  "JobName",
  "Command",
  "WorkDir",
  "StdErr",
  "StdIn",
  "StdOut",
  "Comment",
  "AdminComment",
  "SystemComment",
  "Extra",
  "Container",
  "CrontabSpec",
]);

/** The first job record in the output: `-o`'s one line, or a block of indented continuation lines. */
function firstRecord(stdout: string): string | undefined {
  const lines = stdout.split(/\r?\n/);
  const start = lines.findIndex((l) => l.startsWith("JobId="));
  if (start < 0) return undefined;
  let record = lines[start] ?? "";
  for (const line of lines.slice(start + 1)) {
    if (!/^\s+\S/.test(line)) break;
    record += ` ${line.trimStart()}`;
  }
  return record;
}

/** Key=value pairs of one record; a free-text value runs up to the next known key. */
function keyValues(record: string): Map<string, string> {
  const marks: { key: string; at: number }[] = [];
  for (const m of record.matchAll(/(^|\s)([A-Za-z][\w:/-]*)=/g)) {
    const key = m[2] ?? "";
    const last = marks.at(-1);
    if (last && FREE_TEXT.has(last.key) && !KNOWN_KEYS.has(key)) continue;
    marks.push({ key, at: (m.index ?? 0) + (m[1] ?? "").length });
  }
  const values = new Map<string, string>();
  marks.forEach(({ key, at }, i) => {
    const end = marks[i + 1]?.at ?? record.length;
    // The first occurrence wins: -d adds per-node "Nodes=... Mem=..." groups later on.
    if (!values.has(key)) values.set(key, record.slice(at + key.length + 1, end).trimEnd());
  });
  return values;
}

/** The job in `scontrol show job` output, or undefined when there is none. */
export function parseScontrolShowJob(stdout: string): JobInfo | undefined {
  const record = firstRecord(stdout);
  if (record === undefined) return undefined;
  const kv = keyValues(record);
  const text = (key: string) => {
    const v = kv.get(key);
    return v === undefined ? undefined : orNone(v);
  };
  const reason = text("Reason");
  const exit = /^(\d+):(\d+)$/.exec(kv.get("ExitCode") ?? "");
  return {
    jobId: kv.get("JobId") ?? "",
    state: kv.get("JobState") ?? "",
    reason: reason === "None" ? undefined : reason,
    exitCode: exit ? Number(exit[1]) : undefined,
    signal: exit ? Number(exit[2]) : undefined,
    node: text("NodeList"),
    stdout: text("StdOut"),
    command: text("Command"),
    workDir: text("WorkDir"),
    comment: text("Comment"),
    runTime: text("RunTime"),
  };
}
