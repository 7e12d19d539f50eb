/**
 * Slurm's command lines and what they print, as pure functions: argv
 * builders and parsers, no processes. The Executor runs the argv; these
 * read the text it brings back.
 */
export { parseShowConfig, scontrolShowConfigArgv } from "./config.js";
export { FIELD_SEP, RECORD_END } from "./fields.js";
export { jobIdList } from "./ids.js";
export { parseSbatch, sbatchArgv } from "./sbatch.js";
export { scancelArgv } from "./scancel.js";
export { isUnknownJob, type JobInfo, parseScontrolShowJob, scontrolShowJobArgv } from "./scontrol.js";
export { type PartitionInfo, parseGres, parseSinfo, SINFO_FORMAT, sinfoArgv } from "./sinfo.js";
export {
  parseSqueue,
  parseSqueueStart,
  QUEUE_FORMAT,
  type QueueEntry,
  START_FORMAT,
  squeueArgv,
  squeueStartArgv,
  squeueUserArgv,
} from "./squeue.js";
export { baseState, describeReason, isHopeless, isPending, isRunning, isTerminal } from "./states.js";
export { isControllerDown, isInvalidJobId } from "./stderr.js";
