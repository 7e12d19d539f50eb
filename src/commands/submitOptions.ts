/**
 * Turning the parsed flags of `jupyter` and `batch` into a JobRequest and
 * its rendered script: the part both commands share.
 */
import type { Context } from "../context.js";
import { loadProfile } from "../profile/load.js";
import { renderScript } from "../render/render.js";
import { buildRequest, chooseCluster, type JobRequest, type Payload, type RequestFlags } from "../request/build.js";
import { runDirFor } from "../request/runDir.js";
import { loadProjectFile, loadUserConfig } from "../request/sources.js";

/** A request with its run directory and rendered script. */
export interface Prepared {
  request: JobRequest;
  runDir: string;
  script: string;
}

/** Build, check and render a job from flags; nothing is written anywhere. */
export async function prepare(flags: RequestFlags, payload: Payload, ctx: Context): Promise<Prepared> {
  const workdir = flags.workdir ?? ctx.cwd;
  const sources = { flags, user: await loadUserConfig(ctx), project: await loadProjectFile(workdir) };
  const loaded = await loadProfile(ctx, chooseCluster(sources));
  const request = buildRequest({ ...sources, payload, loaded, cwd: ctx.cwd });
  const runDir = runDirFor(ctx.home, request.name, ctx.now());
  return { request, runDir, script: renderScript(request, { runDir }) };
}
