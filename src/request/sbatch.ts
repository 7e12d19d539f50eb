/**
 * The sbatch options hpcjob sets for a request: its own (name, log, time,
 * partition, CPUs, memory, GPUs in the site's form ...) and the profile's
 * and user's raw ones, minus the ones the site rejects. Decided here, once;
 * render/ only writes them out.
 */
import { formatSignal } from "../core/values.js";
import type { ArrayPart } from "../slurm/arrays.js";
import { arraySpec, DEFAULT_MAX_ARRAY_SIZE } from "../slurm/arrays.js";
import type { Directive } from "../slurm/directives.js";
import { JOB_COMMENT } from "../slurm/sbatch.js";
import type { JobRequest, SitedRequest } from "./job.js";

/** The folder of a run directory that holds a sweep's task logs (Slurm does not create it: submitting does). */
export const TASK_LOGS = "logs";

/** The GPU request spelled the way this cluster wants it, or undefined for none. */
export function gpuDirective(req: JobRequest): Directive | undefined {
  const { count, type } = req.gpus;
  if (count === 0) return undefined;
  const n = type ? `${type}:${count}` : String(count);
  switch (req.profile.slurm.gpuDirective) {
    case "gres":
      return { key: "gres", value: `gpu:${n}` };
    case "gpus":
      return { key: "gpus", value: n };
    case "gpus-per-node":
      return { key: "gpus-per-node", value: n };
  }
}

/** A sweep's first array where the cluster's limit is not known yet (a dry run): as many points as Slurm's default MaxArraySize allows. */
function firstArray(req: JobRequest): ArrayPart {
  return { offset: 0, count: Math.min(req.sweep?.points.length ?? 1, DEFAULT_MAX_ARRAY_SIZE) };
}

/** The options hpcjob sets itself from the request (a sweep's for array `part`), before the site's skip list. */
function ownDirectives(req: JobRequest, runDir: string, part = firstArray(req)): Directive[] {
  const out: Directive[] = [
    { key: "job-name", value: req.name },
    // A sweep's tasks each log to their own file: array job id and task id (the arrays file maps them to points).
    { key: "output", value: req.sweep ? `${runDir}/${TASK_LOGS}/%A_%a.log` : `${runDir}/job.log` },
    // Append, so a requeued (preempted) job keeps the log of its earlier runs.
    { key: "open-mode", value: "append" },
    { key: "chdir", value: req.workdir ?? "" },
    { key: "partition", value: req.partition },
    { key: "time", value: req.time },
    { key: "cpus-per-task", value: String(req.cpus) },
    { key: "comment", value: JOB_COMMENT },
  ];
  if (req.account) out.push({ key: "account", value: req.account });
  if (req.mem) out.push({ key: "mem", value: req.mem });
  const gpu = gpuDirective(req);
  if (gpu) out.push(gpu);
  if (req.requeue) out.push({ key: "requeue" });
  // B: the batch shell only, which passes it on to the program (templates/partials/forward.njk).
  if (req.signal) out.push({ key: "signal", value: formatSignal(req.signal) });
  if (req.sweep) out.push({ key: "array", value: arraySpec(part, req.sweep.maxParallel) });
  if (req.hold) out.push({ key: "hold" });
  return out;
}

/** True when the site's profile lets an option through (not in slurm.skipDirectives). */
export function sentBy(req: Pick<JobRequest, "profile">): (d: { key: string }) => boolean {
  const skip = new Set(req.profile.slurm.skipDirectives);
  return (d) => !skip.has(d.key);
}

/** The long names of the options hpcjob itself sends for a request. */
export function ownOptions(req: JobRequest): string[] {
  return ownDirectives(req, "")
    .filter(sentBy(req))
    .map((d) => d.key);
}

/** Every option the job is submitted with (its log in `runDir`; a sweep's for array `part`), in no particular order: hpcjob's, then the raw ones, minus the site's skip list. */
export function jobDirectives(req: SitedRequest, runDir: string, part?: ArrayPart): Directive[] {
  return [...ownDirectives(req, runDir, part), ...req.directives].filter(sentBy(req));
}
