/**
 * The stages `jupyter` and `batch` share, each a function of the one before:
 * options → plan (the request and where it goes, decided once) → the image
 * (a docker:// one, or one on the user's computer, converted on the cluster or
 * found there) → the script at
 * its site → the submission. A dry run stops after the script and opens
 * nothing on the cluster; a real one connects once, after everything the
 * user typed has been checked.
 */
import { UsageError } from "../core/errors.js";
import type { LoginTarget } from "../core/login.js";
import { versionText } from "../core/version.js";
import type { Executor } from "../exec/executor.js";
import type { ConnectionFlags, Placement } from "../exec/placement.js";
import { canonicalRef } from "../image/reference.js";
import { loadProfile } from "../profile/load.js";
import { renderScript } from "../render/render.js";
import { atSite, buildRequest, chooseCluster, type Payload, type RequestFlags } from "../request/build.js";
import type { JobRequest, SitedRequest } from "../request/job.js";
import { loadProjectFile, loadSweepFile, loadUserConfig, noteSearchPath } from "../request/sources.js";
import { gitState } from "../runs/git.js";
import { runDirFor } from "../runs/paths.js";
import { createRunDir, runFile } from "../runs/store.js";
import type { ArrayRecord } from "../runs/sweep.js";
import { submitArrays } from "../session/arrays.js";
import { sbatchScript } from "../session/sbatch.js";
import type { Context } from "./context.js";
import { convertedPath, convertOnCluster, type Identified, identify } from "./imageConvert.js";
import { assumedPlacement, placementFor } from "./where.js";

/** Flags of a command that submits: the request's and the connection's (and batch's sweep file). */
export type SubmitFlags = RequestFlags & ConnectionFlags & { sweepFile?: string };

/** A job planned: its checked request and where it goes (undefined for a dry run that could go nowhere). */
export interface Plan {
  req: JobRequest;
  placement?: Placement;
}

/**
 * Options → request and placement, each decided once. Reads the user's files
 * and asks the cluster nothing but, on a login node whose profile names its
 * Slurm cluster, which cluster this is (a dry run assumes it instead).
 */
export async function plan(flags: SubmitFlags, payload: Payload, ctx: Context, dryRun: boolean): Promise<Plan> {
  const user = await loadUserConfig(ctx);
  const sweepFile = flags.sweepFile === undefined ? undefined : { spec: await loadSweepFile(flags.sweepFile), from: flags.sweepFile };
  const sources = { flags, user, project: await loadProjectFile(ctx, ctx.cwd), sweepFile };
  const cluster = chooseCluster(sources);
  noteSearchPath(ctx);
  const loaded = await loadProfile(ctx, cluster);
  const placement = dryRun ? assumedPlacement(flags, loaded.profile, user, ctx) : await placementFor(flags, loaded.profile, user, ctx);
  // Here, a job runs where hpcjob was started; over SSH, in the cluster home (known once connected).
  const workdir = placement?.where === "ssh" ? undefined : ctx.cwd;
  return { req: buildRequest({ ...sources, payload, loaded, workdir, here: ctx.cwd }), placement };
}

/**
 * The script a dry run prints: rendered for the run directory it would get,
 * with this computer's paths. An image hpcjob converts is named by the file
 * its digest now (one HEAD to the registry, or read here for one on this
 * computer) converts to; nothing is sent or converted.
 */
export async function dryRunScript(p: Plan, ctx: Context): Promise<string> {
  if (p.req.workdir === undefined) {
    ctx.report({
      kind: "note",
      text: "dry run on a computer without Slurm: paths are this computer's; a real submission runs in your cluster home (or --workdir)",
    });
  }
  let planned = p.req;
  const ref = planned.imageRef;
  if (ref) {
    const { digest } = await identify(ref, ctx);
    const { file } = convertedPath(planned.profile, ref, digest, ctx.home);
    ctx.report({
      kind: "note",
      text: `the job runs ${file}, converted from ${canonicalRef(ref)} first if it is not there (hpcjob image convert ${canonicalRef(ref)} --dry-run shows how)`,
    });
    planned = { ...planned, image: file, imageDigest: digest };
  }
  const req = atSite(planned, ctx.cwd);
  return renderScript(req, runDirFor(ctx.home, req.name, ctx.now()));
}

/**
 * The request with its image converted on the cluster (or found there) from
 * what `identify` found of it: `image` is the file, `imageDigest` what it holds.
 */
async function withImage(exec: Executor, req: JobRequest, image: Identified | undefined, ctx: Context): Promise<JobRequest> {
  const ref = req.imageRef;
  if (!ref || !image) return req;
  const { digest, local } = image;
  const c = await convertOnCluster(exec, req.profile, ref, digest, { account: req.account }, ctx, local);
  if (c.upToDate) ctx.report({ kind: "note", text: `image ${c.ref} (${digest}) is ${c.file}` });
  return { ...req, image: c.file, imageDigest: digest };
}

/** Checks on the cluster before anything is submitted: the image file exists. */
async function checkOnCluster(exec: Executor, req: SitedRequest): Promise<void> {
  if (req.image?.startsWith("/") && !(await exec.stat(req.image))) {
    throw new UsageError(`image ${req.image} does not exist on the cluster; convert or copy it there first, or fix --image`);
  }
}

/** A submitted job: where it runs, its id, its run directory and how the user's computer reaches its login node. */
export interface Submitted {
  exec: Executor;
  req: SitedRequest;
  jobId: string;
  runDir: string;
  login: LoginTarget;
  /** A sweep's arrays, in order (`jobId` is the first's). */
  arrays?: ArrayRecord[];
}

/** The executor a plan goes to; a dry run's plan that could go nowhere is not submitted. */
export function executorFor(p: Plan, ctx: Context): Promise<Executor> {
  if (!p.placement) throw new Error("a plan without a placement is for dry runs only");
  return ctx.connect(p.placement);
}

/**
 * Bind the request to its site (its docker:// image converted or found
 * there first) and submit it.
 */
export async function submit(p: Plan, ctx: Context): Promise<Submitted> {
  // What the image is, before connecting: an image that is not there is refused without reaching the cluster.
  const image = p.req.imageRef ? await identify(p.req.imageRef, ctx) : undefined;
  const exec = await executorFor(p, ctx);
  const req = atSite(await withImage(exec, p.req, image, ctx), await exec.defaultWorkdir());
  return submitSited(exec, req, ctx);
}

/**
 * Create the run directory, write job.sbatch and request.json (with the
 * workdir's git state, and git.diff of a dirty tree), sbatch the script and
 * record the job id. On a refusal the script stays in the run directory and
 * the error says where. `rerunOf` names the run a rerun repeats.
 */
export async function submitSited(exec: Executor, req: SitedRequest, ctx: Context, rerunOf?: string): Promise<Submitted> {
  await checkOnCluster(exec, req);
  const now = ctx.now();
  const runDir = await createRunDir(exec, runDirFor(await exec.home(), req.name, now));
  const script = runFile(runDir, "script");
  const login = await exec.login();
  // A sweep's scripts, one per array (job.sbatch the first), are written as its arrays are submitted.
  if (!req.sweep) await exec.writeFile(script, renderScript(req, runDir), 0o600);
  // Loaded here, not by a dry run: the record's schema brings zod.
  const { recordText, runRecord } = await import("../runs/record.js");
  const git = await gitState(exec, req.workdir, runDir);
  const record = runRecord(req, login, versionText(), now, { ...(git ? { git } : {}), ...(rerunOf ? { rerunOf } : {}) });
  await exec.writeFile(runFile(runDir, "request"), recordText(record), 0o600);
  const arrays = req.sweep ? await submitArrays(exec, req, runDir) : undefined;
  const jobId = arrays ? (arrays[0]?.jobId ?? "") : await sbatchScript(exec, script);
  await exec.writeFile(runFile(runDir, "jobId"), `${jobId}\n`, 0o600);
  return { exec, req, jobId, runDir, login, ...(arrays ? { arrays } : {}) };
}
