/**
 * `hpcjob image convert REF`: the image in a registry becomes the file the
 * cluster's runtime runs, once per content. The digest is resolved here,
 * before anything runs on the cluster; the conversion script (kept in a run
 * directory with its log) does the rest there: lock, up-to-date check, free
 * space, convert under a temporary name, rename, record.
 */
import { join } from "node:path";
import { ExecError, UsageError } from "../core/errors.js";
import { type ClusterFolder, parseClusterFolder } from "../core/values.js";
import type { ConnectionFlags } from "../exec/placement.js";
import { type ConversionRequest, conversionRequest, converterSource } from "../image/conversion.js";
import { platformName } from "../image/manifest.js";
import { canonicalRef, type DockerRef, fileStem, isLatest, parseImage } from "../image/reference.js";
import { headDigest, resolveImage } from "../image/registry.js";
import { loadProfile } from "../profile/load.js";
import type { Profile } from "../profile/schema.js";
import { renderConversion } from "../render/convert.js";
import { chooseCluster } from "../request/build.js";
import { loadProjectFile, loadUserConfig, noteSearchPath } from "../request/sources.js";
import { runDirFor } from "../runs/paths.js";
import { createRunDir } from "../runs/store.js";
import { runtimeOf } from "../runtime/index.js";
import type { Context, Done } from "./context.js";
import { placementFor } from "./where.js";

/** Flags of `image convert`. */
export interface ConvertFlags extends ConnectionFlags {
  cluster?: string;
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
}

/** The conversion's result, or the script a dry run prints. */
export type ConvertResult = Converted | { script: string };

/** A cluster folder as a path, with the home folder known on the cluster. */
function onCluster(f: ClusterFolder, home: string): string {
  return f.under === "home" ? join(home, f.path) : f.path;
}

/** The image named `text`, its digest now (one HEAD), and the cluster's profile. */
async function planConversion(text: string, flags: ConvertFlags, ctx: Context) {
  const user = await loadUserConfig(ctx);
  const sources = { flags: { cluster: flags.cluster }, user, project: await loadProjectFile(ctx, ctx.cwd) };
  const cluster = chooseCluster(sources);
  noteSearchPath(ctx);
  const { profile } = await loadProfile(ctx, cluster);
  const ref = parseImage(text, "the image");
  if (ref.kind === "file") {
    throw new UsageError(`${text} is a file, not an image in a registry; give it to --image as it is, or convert docker://REF`);
  }
  if (ref.kind !== "docker") {
    throw new UsageError(
      `hpcjob image convert reads docker:// references so far; push ${text} to a registry your cluster reaches and convert docker://REGISTRY/NAME:TAG`,
    );
  }
  if (isLatest(ref)) {
    ctx.report({
      kind: "note",
      text: `${canonicalRef(ref)} names no tag but latest, which moves; a tag or @sha256: digest names one image for good`,
    });
  }
  const { digest } = await headDigest(ref);
  return { ref, digest, profile, user };
}

/** The conversion of `ref` (now `digest`): its platform's manifest and size asked of the registry, the converter's source pinned to the digest. */
async function conversionOf(ref: DockerRef, digest: string, profile: Profile, force: boolean): Promise<ConversionRequest> {
  const resolved = await resolveImage(ref);
  const image = {
    ref: canonicalRef(ref),
    source: "",
    digest,
    platform: platformName(resolved.platform),
    size: resolved.size,
    stem: fileStem(ref, digest),
  };
  const req = conversionRequest(profile, image, force);
  return { ...req, image: { ...image, source: converterSource(req.converter, ref, digest) } };
}

/**
 * Convert the image named `text` for the chosen cluster (or print the script
 * with --dry-run). An image converted before is found with one HEAD to the
 * registry and one read on the cluster, and nothing runs there.
 */
export async function imageConvert(text: string, flags: ConvertFlags, ctx: Context): Promise<Done<ConvertResult>> {
  const { ref, digest, profile, user } = await planConversion(text, flags, ctx);
  const force = Boolean(flags.force);
  if (flags.dryRun) return { data: { script: renderConversion(await conversionOf(ref, digest, profile, force)) } };
  if (profile.container.convertOn === "job") {
    throw new UsageError(
      `cluster ${profile.name} converts images in a Slurm job (container.convertOn: job), which hpcjob does not do yet; convert on the login node with a profile that says convertOn: login, or run the script from --dry-run with sbatch`,
    );
  }
  const exec = await ctx.connect(await placementFor(flags, profile, user, ctx));
  const home = await exec.home();
  const runtime = runtimeOf(profile.container.runtime);
  const imageDir = onCluster(parseClusterFolder(profile.container.imageDir, "container.imageDir:"), home);
  const file = join(imageDir, `${fileStem(ref, digest)}${runtime.imageExt ?? ""}`);
  const shown = canonicalRef(ref);
  if (!force && (await exec.stat(file)) && ((await exec.readFile(`${file}.json`)) ?? "").includes(`"digest": "${digest}"`)) {
    return { data: { file, ref: shown, digest, upToDate: true } };
  }
  const req = await conversionOf(ref, digest, profile, force);
  const runDir = await createRunDir(exec, runDirFor(home, "convert", ctx.now()));
  const script = join(runDir, "convert.sh");
  const log = join(runDir, "convert.log");
  await exec.writeFile(script, renderConversion(req), 0o700);
  ctx.report({ kind: "note", text: `converting ${shown} (${digest}) on the login node; log: ${log}` });
  const r = await exec.run(["bash", "-c", 'bash "$1" >"$2" 2>&1', "hpcjob-convert", script, log]);
  const said = ((await exec.readFile(log)) ?? "").trim().split("\n");
  if (r.code !== 0) {
    throw new ExecError(
      `converting ${shown} failed (exit ${r.code}); nothing was left in ${imageDir}; the script and log are in ${runDir}`,
      said.filter((l) => l.trim() !== "").slice(-8),
    );
  }
  const upToDate = said.some((l) => l.startsWith("hpcjob: up to date:"));
  return { data: { file, ref: shown, digest, upToDate, runDir } };
}
