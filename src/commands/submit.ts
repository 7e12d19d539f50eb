/**
 * Turning the parsed flags of `jupyter` and `batch` into a JobRequest, its
 * rendered script and, when asked, a submitted job: the part both commands share.
 */
import { hostname } from "node:os";
import { SlurmError, UsageError } from "../core/errors.js";
import type { LoginTarget } from "../core/login.js";
import { versionText } from "../core/version.js";
import { type ConnectionFlags, executorKind, needsLocalClusterName } from "../exec/choose.js";
import type { Executor } from "../exec/executor.js";
import { loadProfile } from "../profile/load.js";
import type { Profile } from "../profile/schema.js";
import { renderScript } from "../render/render.js";
import { buildRequest, chooseCluster, type JobRequest, type Payload, type RequestFlags } from "../request/build.js";
import { loadProjectFile, loadUserConfig, noteSearchPath } from "../request/sources.js";
import { runDirFor } from "../runs/paths.js";
import { runRecord } from "../runs/record.js";
import { createRunDir, runFile } from "../runs/store.js";
import { tail } from "../session/wait.js";
import { parseSbatch, sbatchArgv } from "../slurm/index.js";
import type { Context } from "./context.js";

/** Flags of a command that submits: the request's and the connection's. */
export type SubmitFlags = RequestFlags & ConnectionFlags;

/**
 * Build and check a request from flags (reads config files, submits nothing).
 * With `connect`, also opens the executor; over SSH the job runs in the
 * cluster home unless --workdir says otherwise.
 */
export async function prepareRequest(
  flags: SubmitFlags,
  payload: Payload,
  ctx: Context,
  connect: boolean,
): Promise<{ req: JobRequest; exec?: Executor }> {
  const sources = { flags, user: await loadUserConfig(ctx), project: await loadProjectFile(ctx, ctx.cwd) };
  const cluster = chooseCluster(sources);
  noteSearchPath(ctx);
  const loaded = await loadProfile(ctx, cluster);
  let cwd = ctx.cwd;
  let exec: Executor | undefined;
  if (connect) {
    exec = await ctx.executor(loaded.profile, flags);
    if (exec.kind === "ssh" && flags.workdir === undefined) cwd = await exec.home();
  } else if (flags.workdir === undefined && wouldUseSsh(flags, loaded.profile, ctx.env)) {
    ctx.report({
      kind: "note",
      text: "dry run on a computer without Slurm: paths are this computer's; a real submission runs in your cluster home (or --workdir)",
    });
  }
  return { req: buildRequest({ ...sources, payload, loaded, cwd }), exec };
}

/** True when a real submission would go over SSH; a dry run needs no cluster and asks none, so no error either way. */
function wouldUseSsh(flags: ConnectionFlags, profile: Profile, env: Record<string, string | undefined>): boolean {
  if (needsLocalClusterName(flags, profile, env)) return false;
  try {
    return executorKind(flags, profile, env).kind === "ssh";
  } catch {
    return false;
  }
}

/** The script a dry run prints: rendered for the run directory it would get. */
export function dryRunScript(req: JobRequest, ctx: Context): string {
  return renderScript(req, { runDir: runDirFor(ctx.home, req.name, ctx.now()) });
}

/** How the user reaches the login node, for the tunnel command. */
export async function loginTarget(exec: Executor, req: JobRequest): Promise<LoginTarget> {
  const host = req.profile.login.host ?? hostname();
  return { host, port: req.profile.login.port, user: req.user ?? (await exec.user()) };
}

/** The project's git commit and whether it has changes, where the workdir is a repository. */
async function gitState(exec: Executor, workdir: string): Promise<{ commit: string; dirty: boolean } | undefined> {
  try {
    const head = await exec.run(["git", "-C", workdir, "rev-parse", "HEAD"]);
    if (head.code !== 0) return undefined;
    const status = await exec.run(["git", "-C", workdir, "status", "--porcelain"]);
    return { commit: head.stdout.trim(), dirty: status.stdout.trim() !== "" };
  } catch {
    return undefined; // no git on the cluster: the record simply has no commit
  }
}

/** Checks on the cluster before anything is submitted: the image file exists. */
async function checkOnCluster(exec: Executor, req: JobRequest): Promise<void> {
  if (req.image?.startsWith("/") && !(await exec.stat(req.image))) {
    throw new UsageError(`image ${req.image} does not exist on the cluster; convert or copy it there first, or fix --image`);
  }
}

/** A submitted job: its id and run directory. */
export interface Submitted {
  jobId: string;
  runDir: string;
  login: LoginTarget;
}

/**
 * Create the run directory, write job.sbatch and request.json, sbatch the
 * script and record the job id. On a refusal the script stays in the run
 * directory and the error says where.
 */
export async function submit(exec: Executor, req: JobRequest, ctx: Context): Promise<Submitted> {
  await checkOnCluster(exec, req);
  const home = await exec.home();
  const now = ctx.now();
  const runDir = await createRunDir(exec, runDirFor(home, req.name, now));
  const script = runFile(runDir, "script");
  const login = await loginTarget(exec, req);
  await exec.writeFile(script, renderScript(req, { runDir }), 0o600);
  const record = runRecord(req, login, versionText(), now, await gitState(exec, req.workdir));
  await exec.writeFile(runFile(runDir, "request"), `${JSON.stringify(record, null, 2)}\n`, 0o600);
  const r = await exec.run(sbatchArgv(script));
  if (r.code !== 0) {
    const said = tail(r.stderr.trim() || r.stdout.trim(), 5);
    throw new SlurmError(`sbatch refused the job: ${said[said.length - 1] ?? `exit ${r.code}`}; the script is ${script}`, said);
  }
  const jobId = parseSbatch(r.stdout);
  await exec.writeFile(runFile(runDir, "jobId"), `${jobId}\n`, 0o600);
  return { jobId, runDir, login };
}
