/**
 * Rendering a JobRequest into the sbatch script, through the templates.
 */
import type { JobRequest, SitedRequest } from "../request/job.js";
import { pathThroughBinds } from "../runtime/charliecloud.js";
import { renderTemplate } from "./environment.js";
import { sbatchLines } from "./sbatch.js";

/** Names of the variables the job passes into the container by name. */
export function envNames(req: JobRequest): string[] {
  const names = Object.keys(req.env);
  if (req.kind === "jupyter") return [...names, "JUPYTER_TOKEN"];
  // A requeued job's restart count, which the script sets to 0 on the first run.
  return req.requeue ? [...names, "SLURM_RESTART_COUNT"] : names;
}

/** The data the templates see; every user value is still raw here and quoted in the template. */
export function templateContext(req: SitedRequest, runDir: string): Record<string, unknown> {
  const rt = req.runtime;
  return {
    cluster: req.cluster,
    name: req.name,
    directives: sbatchLines(req, runDir),
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

/** The complete sbatch script for a request. */
export function renderScript(req: SitedRequest, runDir: string): string {
  return renderTemplate(`${req.kind}.sbatch.njk`, templateContext(req, runDir));
}
