/**
 * Slurm's command lines and what they print, as pure functions: argv
 * builders and parsers, no processes. The Executor runs the argv; these
 * read the text it brings back.
 */
export { type ArrayPart, arrayLimit, arraySpec, splitArrays } from "./arrays.js";
export { parseShowConfig, scontrolShowConfigArgv } from "./config.js";
export { FIELD_SEP, RECORD_END } from "./fields.js";
export { arrayTasks, jobIdList } from "./ids.js";
export { type AccountEntry, parseSacct, sacctArgv } from "./sacct.js";
export { parseSbatch, sbatchArgv } from "./sbatch.js";
export { scancelArgv } from "./scancel.js";
export { type JobInfo, parseScontrolShowJob, scontrolShowJobArgv } from "./scontrol.js";
export {
  parseSqueue,
  QUEUE_FORMAT,
  type QueueEntry,
  squeueArgv,
  squeueUserArgv,
} from "./squeue.js";
export { baseState, describeReason, isHopeless, isPending, isRunning, isTerminal } from "./states.js";
export { isControllerDown, isInvalidAccount, isInvalidJobId } from "./stderr.js";
