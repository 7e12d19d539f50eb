/**
 * Job states and pending reasons as data: which states mean "still queued",
 * "has its nodes" and "over", and what a pending reason means in words.
 * States are squeue's %T / scontrol's JobState names; sacct's forms such as
 * "CANCELLED by 1001" or a truncated "CANCELLED+" are accepted too.
 */

// Queued, the script has not started. CONFIGURING: nodes are allocated but
// still booting, so the script has not started either.
const PENDING = new Set(["PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "CONFIGURING"]);

// Holds its nodes and has no final state yet. COMPLETING counts: the script
// has ended, but the final state (COMPLETED, FAILED ...) comes only once the
// node has cleaned up, so a watcher keeps polling rather than guess it.
const RUNNING = new Set(["RUNNING", "COMPLETING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT", "RESIZING"]);

// Over for good: Slurm will not run this job (id) again.
const TERMINAL = new Set([
  "COMPLETED",
  "FAILED",
  "CANCELLED",
  "TIMEOUT",
  "NODE_FAIL",
  "PREEMPTED",
  "OUT_OF_MEMORY",
  "BOOT_FAIL",
  "DEADLINE",
  "SPECIAL_EXIT",
  "REVOKED",
]);

/** The bare state name: "CANCELLED by 1001" and "CANCELLED+" become "CANCELLED". */
export function baseState(state: string): string {
  return (state.trim().split(/\s+/)[0] ?? "").replace(/\+$/, "").toUpperCase();
}

/** True while the job waits in the queue and its script has not started. */
export function isPending(state: string): boolean {
  return PENDING.has(baseState(state));
}

/** True while the job holds its nodes and has no final state (COMPLETING included). */
export function isRunning(state: string): boolean {
  return RUNNING.has(baseState(state));
}

/** True once the job has ended for good (COMPLETED, FAILED, CANCELLED, TIMEOUT ...). */
export function isTerminal(state: string): boolean {
  return TERMINAL.has(baseState(state));
}

// Slurm's reason codes (squeue %r, scontrol Reason=) in words. A key ending
// in "*" matches every reason that starts with it. Where Slurm has a longer
// text (state_desc), squeue prints that instead of the code, e.g. "Nodes
// required for job are DOWN, DRAINED or reserved for jobs in higher priority
// partitions" for a job waiting on nodes shared with another partition.
const REASONS = new Map<string, string>(
  Object.entries({
    None: "just submitted; the scheduler has not looked at it yet",
    Resources: "waiting for free resources (the GPUs/CPUs asked for are in use)",
    Priority: "waiting behind jobs with a higher priority",
    Dependency: "waiting for the jobs it depends on",
    DependencyNeverSatisfied: "will never start: a job it depends on did not end as required; cancel it",
    BeginTime: "waiting for its start time (--begin)",
    JobHeldUser: "held by its owner; `scontrol release ID` lets it start",
    JobHeldAdmin: "held by an administrator",
    "launch failed requeued held": "its launch failed and Slurm held it; ask the administrators, then `scontrol release ID`",
    PartitionTimeLimit: "asks for more time than the partition allows and will not start; ask for less --time",
    PartitionNodeLimit: "asks for more nodes than the partition allows and will not start",
    PartitionDown: "waiting: the partition is down",
    PartitionInactive: "waiting: the partition is inactive",
    PartitionConfig: "the request does not fit the partition's configuration",
    ReqNodeNotAvail: "waiting: nodes it needs are down, drained or reserved (e.g. for maintenance)",
    "Nodes required for job are DOWN*": "waiting: the nodes it can use are down, drained or held for jobs of a higher priority partition",
    NodeDown: "waiting: a node it needs is down",
    Reservation: "waiting for its reservation to start",
    Licenses: "waiting for a license",
    BadConstraints: "no node can ever satisfy the request (GPU type, features or size); change it",
    InvalidAccount: "the account is not valid; cancel and submit with another --account",
    InvalidQOS: "the QOS is not valid; cancel and submit with another",
    JobArrayTaskLimit: "waiting: the array already runs as many tasks as its limit allows",
    Prolog: "its node is running the prolog; starting soon",
    Cleaning: "requeued; waiting for the previous run to be cleaned up",
    QOSMaxJobsPerUserLimit: "waiting: you already run as many jobs as your QOS allows",
    QOSMaxSubmitJobPerUserLimit: "you have submitted as many jobs as your QOS allows",
    QOSMaxGRESPerUser: "waiting: you already use as many GPUs as your QOS allows",
    QOSMaxCpuPerUserLimit: "waiting: you already use as many CPUs as your QOS allows",
    QOSMaxWallDurationPerJobLimit: "asks for more time than your QOS allows and will not start; ask for less --time",
    "QOS*": "waiting for a limit of your QOS",
    AssocGrpGRES: "waiting: your account's GPUs are all in use by its other jobs",
    AssocGrpCpuLimit: "waiting: your account's CPUs are all in use by its other jobs",
    AssocMaxJobsLimit: "waiting: your account already runs as many jobs as it may",
    AssocGrpBillingMinutes: "your account has used up its allocation; ask its manager",
    AssocGrpCPUMinutesLimit: "your account has used up its CPU hours; ask its manager",
    AssocGrpGRESMinutes: "your account has used up its GPU hours; ask its manager",
    "Assoc*": "waiting for a limit of your account",
    NonZeroExitCode: "the script exited with a non-zero code",
    RaisedSignal: "the script was killed by a signal",
    TimeLimit: "it reached its time limit",
    OutOfMemory: "it ran out of memory",
    // Slurm 22.05 also says this when the batch script was killed by a signal (ExitCode=0:9).
    JobLaunchFailure: "it failed at launch, or a signal killed its script",
  }),
);

/** A short human text for a Slurm reason code; the reason itself when it is not in the table. */
export function describeReason(reason: string): string {
  // scontrol writes spaces as "_"; squeue may add ", UnavailableNodes:..." or ":9_Killed".
  const text = reason.trim().replaceAll("_", " ");
  const code = /^[A-Za-z]+/.exec(text)?.[0] ?? text;
  const exact = REASONS.get(text) ?? REASONS.get(code);
  if (exact) return exact;
  for (const [key, words] of REASONS) {
    if (key.endsWith("*") && text.startsWith(key.slice(0, -1))) return words;
  }
  return reason;
}

// Pending reasons that mean the job will never start as it is: waiting on
// them would never end, so a waiter gives up and says why.
const HOPELESS = new Set([
  "DependencyNeverSatisfied",
  "PartitionTimeLimit",
  "PartitionNodeLimit",
  "PartitionConfig",
  "BadConstraints",
  "InvalidAccount",
  "InvalidQOS",
  "QOSMaxWallDurationPerJobLimit",
  "AssocGrpBillingMinutes",
  "AssocGrpCPUMinutesLimit",
  "AssocGrpGRESMinutes",
]);

/** True when a pending job with this reason will never start without a change. */
export function isHopeless(reason: string): boolean {
  return HOPELESS.has(/^[A-Za-z]+/.exec(reason.trim())?.[0] ?? "");
}
