/**
 * `hpcjob image convert REF`: the image in a registry (or in an archive or
 * the Docker daemon on this computer: localImage.ts) becomes the file the
 * cluster's runtime runs, once per content. The digest is resolved here,
 * before anything runs on the cluster; the conversion script (kept in a run
 * directory with its log) does the rest there: lock, up-to-date check, free
 * space, convert under a temporary name, rename, record. It runs on the login
 * node, or as a Slurm job watched by the one job watcher (convertOn: job).
 */
import { join } from "node:path";
import { ExecError, HpcjobError, UsageError } from "../core/errors.js";
import { folderOn } from "../core/values.js";
import type { Executor } from "../exec/executor.js";
import type { ConnectionFlags } from "../exec/placement.js";
import {
  archiveSource,
  type ConversionRequest,
  conversionRequest,
  convertedFile,
  converterOf,
  converterSource,
  fromArchive,
  homeQuotaNote,
  quotaProblem,
} from "../image/conversion.js";
import { recordOf } from "../image/folder.js";
import { platformName } from "../image/manifest.js";
import { type ConvertibleRef, canonicalRef, type DockerRef, fileStem, isLatest, type LocalRef, parseImage } from "../image/reference.js";
import { headDigest, resolveImage } from "../image/registry.js";
import type { Profile } from "../profile/schema.js";
import { renderConversion } from "../render/convert.js";
import { runDirFor } from "../runs/paths.js";
import { createRunDir, runFile } from "../runs/store.js";
import { followLog } from "../session/follow.js";
import { sbatchScript } from "../session/sbatch.js";
import type { Context, Done } from "./context.js";
import { imageProfile } from "./images.js";
import type { ImageLayers, LocalImage } from "./localImage.js";
import { placementFor } from "./where.js";

/**
 * Reading and sending an image from this computer (localImage.ts), imported on
 * use: it needs Node's stream modules, which a dry run should not load (a
 * tenth of its start-up). esbuild evaluates a module imported only this way
 * when it is first imported.
 */
const localImageModule = () => import("./localImage.js");

/** Flags of `image convert`. */
export interface ConvertFlags extends ConnectionFlags {
  cluster?: string;
  account?: string;
  force?: boolean;
  dryRun?: boolean;
}

/** What `image convert` did: the file, the image it holds, and where the script and log are. */
export interface Converted {
  file: string;
  ref: string;
  digest: string;
  /** True when a file of this digest was there and nothing was converted. */
  upToDate: boolean;
  /** The run directory with the conversion script and its log; none when the file was there already. */
  runDir?: string;
  /** The Slurm job that converted it (convertOn: job). */
  jobId?: string;
}

/** The conversion's result, or the script a dry run prints. */
export type ConvertResult = Converted | { script: string };

/** The docker:// image `ref` and its digest now (one HEAD to the registry); a note when its tag is latest, which moves. */
export async function digestNow(ref: DockerRef, ctx: Context): Promise<string> {
  if (isLatest(ref)) {
    ctx.report({
      kind: "note",
      text: `${canonicalRef(ref)} names no tag but latest, which moves; a tag or @sha256: digest names one image for good`,
    });
  }
  return (await headDigest(ref)).digest;
}

/** An image as it is now: its digest and, for one on this computer, what was read of it there (for sending it). */
export interface Identified {
  digest: string;
  local?: LocalImage;
}

/**
 * What `ref` names now: in a registry, its digest (one HEAD); on this
 * computer, its identity read here (nothing is sent).
 */
export async function identify(ref: ConvertibleRef, ctx: Context): Promise<Identified> {
  if (ref.kind === "docker") return { digest: await digestNow(ref, ctx) };
  const { localImage } = await localImageModule();
  const local = await localImage(ref, ctx);
  return { digest: local.digest, local };
}

/** The image named `text`, what it is now (identify), and the cluster's profile. */
async function planConversion(text: string, flags: ConvertFlags, ctx: Context) {
  const { profile, user } = await imageProfile(flags.cluster, ctx);
  converterOf(profile);
  const ref = parseImage(text, "image convert");
  if (ref.kind === "file") {
    throw new UsageError(
      `hpcjob image convert reads docker://, docker-archive:, oci-archive: and docker-daemon: references (got ${text}); a .sif, .sqsh or .sqfs file is run as it is: hpcjob batch --image ${text}`,
    );
  }
  return { ref, ...(await identify(ref, ctx)), profile, user };
}

/** What is known of an image on this computer before it is sent, as a conversion shows it. */
function localConversionImage(ref: LocalRef, image: LocalImage) {
  return { ref: canonicalRef(ref), digest: image.digest, platform: image.platform, size: image.size, stem: fileStem(ref, image.digest) };
}

/** Where the file of `ref` at `digest` is (or will be) on a cluster whose home folder is `home`. */
export function convertedPath(profile: Profile, ref: ConvertibleRef, digest: string, home: string): { file: string; imageDir: string } {
  const target = convertedFile(profile, fileStem(ref, digest));
  const imageDir = folderOn(target.imageDir, home);
  return { file: join(imageDir, target.fileName), imageDir };
}

/**
 * The conversion of an image on this computer, read by the converter from
 * `source` (the archive at `path` on the cluster, where it was sent); on a
 * cluster whose converter reads no archive, built from `layers`.
 */
function localConversion(
  ref: LocalRef,
  image: LocalImage,
  at: { source: string; path: string; layers?: ImageLayers },
  profile: Profile,
  flags: Pick<ConvertFlags, "force" | "account">,
): ConversionRequest {
  const shown = { ...localConversionImage(ref, image), source: at.source };
  const req = conversionRequest(profile, shown, Boolean(flags.force), flags.account);
  if (req.runtime.fromLayers === undefined) return req;
  if (at.layers === undefined) throw new ExecError(`the layers of ${shown.ref} were not read; nothing was converted`);
  return fromArchive(req, at.path, at.layers.layers, at.layers.config);
}

/** The conversion of `ref` (now `digest`): its platform's manifest and size asked of the registry, the converter's source pinned to the digest. */
async function conversionOf(
  ref: DockerRef,
  digest: string,
  profile: Profile,
  flags: Pick<ConvertFlags, "force" | "account">,
): Promise<ConversionRequest> {
  const resolved = await resolveImage(ref);
  const image = {
    ref: canonicalRef(ref),
    source: "",
    digest,
    platform: platformName(resolved.platform),
    size: resolved.size,
    stem: fileStem(ref, digest),
  };
  const req = conversionRequest(profile, image, Boolean(flags.force), flags.account);
  return { ...req, image: { ...image, source: converterSource(req.converter, ref, digest) } };
}

/** Shortest time between two progress lines from a conversion job's log (one line per change where stderr is no terminal). */
const PROGRESS_EVERY_MS = 5000;

/** Run the conversion script on the login node; its exit code. */
async function convertHere(exec: Executor, script: string, log: string): Promise<number> {
  const r = await exec.run(["bash", "-c", 'bash "$1" >"$2" 2>&1', "hpcjob-convert", script, log]);
  return r.code;
}

/** Ctrl-C while a conversion job runs: hpcjob stops waiting, and the job goes on (with what it was sent). */
class StoppedWaiting extends HpcjobError {
  constructor(jobId: string) {
    super(
      `stopped waiting; conversion job ${jobId} goes on: run the same command again to use its file, or cancel it with hpcjob cancel ${jobId}`,
      130,
    );
  }
}

/** Submit the conversion script and wait for its job with the one job watcher; the job id and the script's exit code. */
async function convertInJob(exec: Executor, script: string, runDir: string, ctx: Context): Promise<{ jobId: string; code: number }> {
  const jobId = await sbatchScript(exec, script);
  await exec.writeFile(runFile(runDir, "jobId"), `${jobId}\n`, 0o600);
  ctx.report({ kind: "submitted", jobId, runDir });
  // The log is not shown whole (the result says where it is, a failure shows its tail): its last line is the progress.
  let text = "";
  let shown = "";
  let shownAt = Number.NEGATIVE_INFINITY;
  const write = (chunk: string) => {
    text = (text + chunk).slice(-4096);
    const last = text.trimEnd().split("\n").pop()?.trim() ?? "";
    if (last === "" || last === shown || Date.now() - shownAt < PROGRESS_EVERY_MS) return;
    shown = last;
    shownAt = Date.now();
    ctx.report({ kind: "progress", text: `job ${jobId}: ${last}` });
  };
  const end = await followLog(exec, jobId, runDir, { write, report: ctx.report, signal: ctx.signal });
  if (end.detached) throw new StoppedWaiting(jobId);
  return { jobId, code: end.exitCode };
}

/**
 * The file of `ref` at `digest` on the cluster `exec` reaches: found with one
 * stat and one read when it is there (nothing runs, nothing is sent), else
 * converted there by the conversion script, on the login node or as a Slurm
 * job. An image on this computer (`local`: what localImage read) is sent to
 * the cluster's scratch folder first, and that file is removed afterwards.
 */
export async function convertOnCluster(
  exec: Executor,
  profile: Profile,
  ref: ConvertibleRef,
  digest: string,
  flags: Pick<ConvertFlags, "force" | "account">,
  ctx: Context,
  local?: LocalImage,
): Promise<Converted> {
  const home = await exec.home();
  const { file, imageDir } = convertedPath(profile, ref, digest, home);
  const shown = canonicalRef(ref);
  if (!flags.force && (await exec.stat(file)) && recordOf(await exec.readFile(`${file}.json`)).digest === digest) {
    return { file, ref: shown, digest, upToDate: true };
  }
  if (ref.kind === "docker") {
    const req = await conversionOf(ref, digest, profile, flags);
    return runConversion(exec, req, { profile, home, file, imageDir, shown, digest }, ctx);
  }
  const { localImage, stageImage } = await localImageModule();
  const image = local ?? (await localImage(ref, ctx));
  const runDir = await createRunDir(exec, runDirFor(home, "convert", ctx.now()));
  // The scratch folder as the script finds it: the profile's (resolved here), else the job's run directory or $TMPDIR there.
  const planned = conversionRequest(profile, { ...localConversionImage(ref, image), source: "" }, Boolean(flags.force), flags.account);
  const tmpDir = planned.tmpDir ? folderOn(planned.tmpDir, home) : undefined;
  const layers = planned.runtime.fromLayers !== undefined;
  const staged = await stageImage(exec, ref, image, { tmpDir, runDir, job: planned.job !== undefined, layers }, ctx);
  let keep = false;
  try {
    const req = { ...localConversion(ref, image, staged, profile, flags), ...(staged.file ? { sent: staged.file } : {}) };
    return await runConversion(exec, req, { profile, home, file, imageDir, shown, digest, runDir }, ctx);
  } catch (e) {
    // A conversion job hpcjob stopped waiting for still reads the file it was sent.
    keep = e instanceof StoppedWaiting;
    throw e;
  } finally {
    if (!keep) await staged.remove();
  }
}

/** Where a conversion's file goes and how it is shown. */
interface Target {
  profile: Profile;
  home: string;
  file: string;
  imageDir: string;
  shown: string;
  digest: string;
  /** The run directory, when made already. */
  runDir?: string;
}

/** Render `req`'s script into a run directory and run it (login node or job); the file it made, or an error with the log's tail. */
async function runConversion(exec: Executor, req: ConversionRequest, t: Target, ctx: Context): Promise<Converted> {
  const { file, imageDir, shown, digest } = t;
  const runDir = t.runDir ?? (await createRunDir(exec, runDirFor(t.home, "convert", ctx.now())));
  const script = runFile(runDir, "script");
  const log = runFile(runDir, "log");
  await exec.writeFile(script, renderConversion(req, log), 0o700);
  noteHomeQuota(req, t.profile, ctx);
  ctx.report({
    kind: "note",
    text: `converting ${shown} (${digest}) ${req.job ? `in a Slurm job in partition ${req.job.partition}` : "on the login node"}; log: ${log}`,
  });
  const { jobId, code } = req.job
    ? await convertInJob(exec, script, runDir, ctx)
    : { jobId: undefined, code: await convertHere(exec, script, log) };
  const said = ((await exec.readFile(log)) ?? "").trim().split("\n");
  if (code !== 0 && ctx.signal.aborted) {
    throw new HpcjobError(`interrupted while converting ${shown}; nothing was left in ${imageDir}; the log is in ${runDir}`, 130);
  }
  if (code === 0 && !(await exec.stat(file))) {
    throw new ExecError(`converting ${shown} ended without ${file}; the script and log are in ${runDir}`, said.slice(-8));
  }
  if (code !== 0) {
    const quota = quotaProblem(said, req);
    throw new ExecError(
      `converting ${shown} failed (${jobId ? `job ${jobId}, ` : ""}exit ${code})${quota ? `: ${quota}` : ""}; nothing was left in ${imageDir}; the script and log are in ${runDir}`,
      said.filter((l) => l.trim() !== "" && !l.startsWith("hpcjob: the program exited")).slice(-8),
    );
  }
  const upToDate = said.some((l) => l.startsWith("hpcjob: up to date:"));
  return { file, ref: shown, digest, upToDate, runDir, ...(jobId ? { jobId } : {}) };
}

/** Say so when the conversion writes in a home folder the profile says has a quota (container.homeQuota). */
function noteHomeQuota(req: ConversionRequest, profile: Profile, ctx: Context): void {
  const text = homeQuotaNote(req, profile);
  if (text) ctx.report({ kind: "note", text });
}

/**
 * Convert the image named `text` for the chosen cluster (or print the script
 * with --dry-run). An image converted before is found with one HEAD to the
 * registry and one read on the cluster, and nothing runs there.
 */
export async function imageConvert(text: string, flags: ConvertFlags, ctx: Context): Promise<Done<ConvertResult>> {
  const plan = await planConversion(text, flags, ctx);
  const { ref, digest, profile, user } = plan;
  if (flags.dryRun) {
    const req =
      ref.kind === "docker"
        ? await conversionOf(ref, digest, profile, flags)
        : dryRunLocal(ref, plan.local as LocalImage, profile, flags, ctx);
    noteHomeQuota(req, profile, ctx);
    return { data: { script: renderConversion(req, runFile(runDirFor(ctx.home, "convert", ctx.now()), "log")) } };
  }
  const exec = await ctx.connect(await placementFor(flags, profile, user, ctx));
  return { data: await convertOnCluster(exec, profile, ref, digest, flags, ctx, plan.local) };
}

/** A dry run's conversion of an image on this computer: the converter reads the file it would be sent to (named in a note). */
function dryRunLocal(ref: LocalRef, image: LocalImage, profile: Profile, flags: ConvertFlags, ctx: Context): ConversionRequest {
  const kind = ref.kind === "docker-daemon" ? "docker-archive" : ref.kind;
  const sent = "SCRATCH/hpcjob-image.XXXXXXXX";
  ctx.report({
    kind: "note",
    text: `dry run: ${canonicalRef(ref)} (${image.digest}) would be sent to a new file in the cluster's scratch folder (container.tmpDir, else $TMPDIR or /tmp there), shown as ${sent}; on the login node an archive is read where it is`,
  });
  // A daemon's layers are read from `docker save` as it is sent: a dry run sends nothing, so it shows them as LAYERS.
  const layers = image.layers ?? { layers: ["LAYERS"], config: {} };
  const source = archiveSource(kind, sent, ref.kind === "docker-daemon" ? undefined : ref.ref);
  return localConversion(ref, image, { source, path: sent, layers }, profile, flags);
}
