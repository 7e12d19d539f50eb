/**
 * Rendering a JobRequest into the sbatch script, through the templates.
 */
import { posix } from "node:path";
import type { JobRequest, SitedRequest } from "../request/job.js";
import { POINT_VALUES_FILE, TASK_RECORDS } from "../request/sweep.js";
import { pathThroughBinds } from "../runtime/charliecloud.js";
import type { ArrayPart } from "../slurm/arrays.js";
import { renderTemplate } from "./environment.js";
import { sbatchLines } from "./sbatch.js";

/**
 * Names of the variables the job passes into the container by name; a
 * sweep's point and parameters too where the container would not see them
 * otherwise (Runtime.hostEnv: elsewhere passing them could change them).
 */
export function envNames(req: JobRequest): string[] {
  const names = Object.keys(req.env);
  if (req.sweep && !req.runtime.hostEnv) names.push("HPCJOB_POINT", ...req.sweep.names.map((n) => `HPCJOB_PARAM_${n}`));
  if (req.kind === "jupyter") return [...names, "JUPYTER_TOKEN"];
  // A requeued job's restart count, which the script sets to 0 on the first run.
  return req.requeue ? [...names, "SLURM_RESTART_COUNT"] : names;
}

/** What the sweep partial needs for array `part`, or false for a job that is no sweep. */
function sweepContext(req: SitedRequest, runDir: string, part: ArrayPart | undefined): Record<string, unknown> | false {
  const s = req.sweep;
  if (!s) return false;
  return {
    offset: part?.offset ?? 0,
    picks: part?.picks ?? false,
    count: s.names.length,
    last: s.names.length - 1,
    points: s.points.length,
    values: posix.join(runDir, POINT_VALUES_FILE),
    tasks: posix.join(runDir, TASK_RECORDS),
    // The words each parameter adds after the program's own: --NAME VALUE, NAME=VALUE (hydra) or none (env).
    params: s.names.map((name, index) => ({
      name,
      index,
      flag: s.style === "args" ? `--${name}` : "",
      prefix: s.style === "hydra" ? `${name}=` : "",
    })),
    args: s.style !== "env",
  };
}

/** The data the templates see (a sweep's for array `part`); every user value is still raw here and quoted in the template. */
export function templateContext(req: SitedRequest, runDir: string, part?: ArrayPart): Record<string, unknown> {
  const rt = req.runtime;
  return {
    cluster: req.cluster,
    name: req.name,
    directives: sbatchLines(req, runDir, part),
    sweep: sweepContext(req, runDir, part),
    runDir,
    workdir: req.workdir,
    modules: req.profile.environment.modules,
    setup: req.profile.environment.setup,
    env: Object.entries(req.env),
    envNames: envNames(req),
    runtime: {
      name: rt.name,
      partial: rt.partial,
      tool: rt.tool,
      envPrefix: rt.envPrefix ?? "",
      image: req.image ?? "",
      binds: req.binds.map((b) => rt.bind(b)),
      gpus: req.gpus.count > 0,
      // Charliecloud: the job's folder through a bind that holds it ("" for none), and whether GPU libraries are copied in first.
      workdirViaBind: pathThroughBinds(req.binds, req.workdir) ?? "",
      fromhostNvidia: req.gpus.count > 0 && (req.profile.container.charliecloud?.fromhostNvidia ?? false),
      // The tool's process that keeps the program as its child without passing signals on ("" for none).
      signalsStopAt: rt.signalsStopAt ?? "",
    },
    command: req.command,
    requeue: req.requeue,
    signal: req.signal,
  };
}

/** The complete sbatch script for a request (a sweep's for array `part`, by default its first). */
export function renderScript(req: SitedRequest, runDir: string, part?: ArrayPart): string {
  return renderTemplate(`${req.kind}.sbatch.njk`, templateContext(req, runDir, part));
}
