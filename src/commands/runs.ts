/**
 * `hpcjob show RUN` and `hpcjob rerun RUN`: a run's manifest (request.json)
 * read back, shown, and submitted again exactly as it was: the same
 * resolved request, the same image digest, into a new run directory.
 */

import { UsageError } from "../core/errors.js";
import type { Executor } from "../exec/executor.js";
import { canonicalRef } from "../image/reference.js";
import { loadProfile } from "../profile/load.js";
import { renderScript } from "../render/render.js";
import type { SitedRequest } from "../request/job.js";
import { gitState } from "../runs/git.js";
import { runDirFor } from "../runs/paths.js";
import type { RunRecord } from "../runs/record.js";
import { findRun, runFile } from "../runs/store.js";
import type { Context, Done } from "./context.js";
import { convertOnCluster, digestNow, identify } from "./imageConvert.js";
import { type JobsFlags, jobsExecutor } from "./jobs.js";
import { submitSited } from "./submit.js";

/** The record module, loaded on use: its schema brings zod. */
const recordModule = () => import("../runs/record.js");

/** A run as `show` gives it: where it is, its job and its manifest. */
export interface ShownRun {
  runDir: string;
  jobId?: string;
  /** The docker:// image the run's file was converted from, as people write it. */
  image?: string;
  record: RunRecord;
}

/** The manifest of a run (a job id, run name or run directory). */
export async function show(ref: string, flags: JobsFlags, ctx: Context): Promise<Done<ShownRun>> {
  const exec = await jobsExecutor(flags, ctx);
  const run = await findRun(exec, await exec.home(), ref);
  const record = await (await recordModule()).readRecord(exec, run.dir);
  const image = record.request.imageRef ? canonicalRef(record.request.imageRef) : undefined;
  return { data: { runDir: run.dir, ...(run.jobId ? { jobId: run.jobId } : {}), ...(image ? { image } : {}), record } };
}

/** A run submitted again, and the run it repeats. */
export interface Rerun {
  jobId: string;
  cluster: string;
  kind: "jupyter" | "batch";
  runDir: string;
  log: string;
  rerunOf: string;
}

/** What `hpcjob rerun` gives: the script of a dry run, or the new job. */
export type RerunResult = { script: string } | Rerun;

/** Flags of `hpcjob rerun`. */
export interface RerunFlags extends JobsFlags {
  dryRun?: boolean;
}

/**
 * Submit a run's recorded request again into a new run directory: nothing
 * is taken from today's flags, files or profiles. Says what differs now: the
 * workdir's commit or changes, the profile, the image's tag.
 */
export async function rerun(ref: string, flags: RerunFlags, ctx: Context): Promise<Done<RerunResult>> {
  const exec = await jobsExecutor(flags, ctx);
  const run = await findRun(exec, await exec.home(), ref);
  const { readRecord, recordedRequest, profileSha256 } = await recordModule();
  const record = await readRecord(exec, run.dir);
  const req = recordedRequest(record);
  const warn = (text: string) => ctx.report({ kind: "note", text: `warning: ${text}` });
  await compareGit(exec, record, req, warn);
  // The profile as it loads here now, if it does (the rerun does not need it).
  const now = await loadProfile(ctx, req.cluster).then(
    (loaded) => profileSha256(loaded.profile),
    () => undefined,
  );
  if (now !== undefined && now !== record.profileSha256) {
    warn(
      `profile ${req.cluster} has changed since ${run.dir} was submitted; the rerun uses the profile as it was then (hpcjob show ${ref})`,
    );
  }
  await checkImage(exec, req, Boolean(flags.dryRun), ctx, warn);
  if (flags.dryRun) return { data: { script: renderScript(req, runDirFor(await exec.home(), req.name, ctx.now())) } };
  const sub = await submitSited(exec, req, ctx, run.dir);
  return {
    data: { jobId: sub.jobId, cluster: req.cluster, kind: req.kind, runDir: sub.runDir, log: runFile(sub.runDir, "log"), rerunOf: run.dir },
  };
}

/** Warn when the workdir's code is not what the run ran: another commit, or changes now. */
async function compareGit(exec: Executor, record: RunRecord, req: SitedRequest, warn: (text: string) => void): Promise<void> {
  const then = record.git;
  if (!then) return;
  const now = await gitState(exec, req.workdir);
  if (!now) {
    warn(`${req.workdir} is no longer a git repository at commit ${then.commit}; the rerun runs whatever is there now`);
    return;
  }
  if (now.commit !== then.commit) {
    warn(
      `${req.workdir} is at commit ${now.commit} now, the run was at ${then.commit}: the rerun runs the code as it is now (git -C ${req.workdir} checkout ${then.commit} first to run the same code)`,
    );
  }
  if (now.dirty) {
    warn(
      `${req.workdir} has uncommitted changes now: the rerun runs them${then.dirty ? " (the run had changes too: see its git.diff)" : ""}`,
    );
  } else if (then.dirty) {
    warn(`the run had uncommitted changes (its git.diff) that ${req.workdir} does not have now`);
  }
}

/**
 * The run's image file is the one the job runs again: a docker:// image by
 * the digest recorded, converted again (pinned to that digest) if its file
 * is gone, and a warning when the tag names other content now. An image from
 * the user's computer whose file is gone is sent again only if this computer
 * still has that content.
 */
async function checkImage(exec: Executor, req: SitedRequest, dryRun: boolean, ctx: Context, warn: (text: string) => void): Promise<void> {
  const ref = req.imageRef;
  const digest = req.imageDigest;
  if (!ref || !digest) return;
  const shown = canonicalRef(ref);
  if (ref.kind !== "docker") {
    if (dryRun || (req.image && (await exec.stat(req.image)))) return;
    const now = await identify(ref, ctx);
    if (now.digest !== digest) {
      throw new UsageError(
        `the run's image ${req.image} (${shown}, ${digest}) is gone from the cluster and ${shown} is ${now.digest} here now; convert the image the run used again, or submit anew with hpcjob batch --image ${shown}`,
      );
    }
    await convertOnCluster(exec, req.profile, ref, digest, { account: req.account }, ctx, now.local);
    return;
  }
  try {
    const current = await digestNow(ref, ctx);
    if (current !== digest) warn(`${shown} names ${current} now; the rerun runs ${digest}, as the run did (${req.image})`);
  } catch {
    ctx.report({ kind: "note", text: `could not ask the registry what ${shown} names now; the rerun runs ${digest}, as the run did` });
  }
  if (dryRun || (req.image && (await exec.stat(req.image)))) return;
  await convertOnCluster(exec, req.profile, { ...ref, digest }, digest, { account: req.account }, ctx);
}
