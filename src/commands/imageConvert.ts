/**
 * `hpcjob image convert REF`: the image in a registry becomes the file the
 * cluster's runtime runs, once per content. The digest is resolved here,
 * before anything runs on the cluster; the conversion script (kept in a run
 * directory with its log) does the rest there: lock, up-to-date check, free
 * space, convert under a temporary name, rename, record.
 */
import { join } from "node:path";
import { ExecError, UsageError } from "../core/errors.js";
import type { ClusterFolder } from "../core/values.js";
import type { ConnectionFlags } from "../exec/placement.js";
import { type ConversionRequest, conversionRequest, converterSource } from "../image/conversion.js";
import { canonicalRef, fileStem, isLatest, parseImage } from "../image/reference.js";
import { resolveImage } from "../image/registry.js";
import { platformName } from "../image/manifest.js";
import { renderConversion } from "../render/convert.js";
import { chooseCluster } from "../request/build.js";
import { loadProjectFile, loadUserConfig, noteSearchPath } from "../request/sources.js";
import { loadProfile } from "../profile/load.js";
import { runDirFor } from "../runs/paths.js";
import { createRunDir } from "../runs/store.js";
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
  runDir: string;
}

/** The conversion's result, or the script a dry run prints. */
export type ConvertResult = Converted | { script: string };

/** A cluster folder as a path, with the home folder known on the cluster. */
function onCluster(f: ClusterFolder, home: string): string {
  return f.under === "home" ? join(home, f.path) : f.path;
}

/** The conversion request for `text`: the profile's runtime and folders, the image resolved in its registry. */
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
    ctx.report({ kind: "note", text: `${canonicalRef(ref)} names no tag but latest, which moves; a tag or @sha256: digest names one image for good` });
  }
  const resolved = await resolveImage(ref);
  const base = conversionRequest(
    profile,
    {
      ref: canonicalRef(ref),
      source: "",
      digest: resolved.digest,
      platform: platformName(resolved.platform),
      size: resolved.size,
      stem: fileStem(ref, resolved.digest),
    },
    Boolean(flags.force),
  );
  const req: ConversionRequest = { ...base, image: { ...base.image, source: converterSource(base.converter, ref, resolved.digest) } };
  return { req, profile, user };
}

/** Convert the image named `text` for the chosen cluster (or print the script with --dry-run). */
export async function imageConvert(text: string, flags: ConvertFlags, ctx: Context): Promise<Done<ConvertResult>> {
  const { req, profile, user } = await planConversion(text, flags, ctx);
  if (flags.dryRun) return { data: { script: renderConversion(req) } };
  if (profile.container.convertOn === "job") {
    throw new UsageError(
      `cluster ${profile.name} converts images in a Slurm job (container.convertOn: job), which hpcjob does not do yet; convert on the login node with a profile that says convertOn: login, or run the script from --dry-run with sbatch`,
    );
  }
  const exec = await ctx.connect(await placementFor(flags, profile, user, ctx));
  const home = await exec.home();
  const runDir = await createRunDir(exec, runDirFor(home, "convert", ctx.now()));
  const script = join(runDir, "convert.sh");
  const log = join(runDir, "convert.log");
  await exec.writeFile(script, renderConversion(req), 0o700);
  const file = join(onCluster(req.imageDir, home), req.fileName);
  ctx.report({ kind: "note", text: `converting ${req.image.ref} (${req.image.digest}) on the login node; log: ${log}` });
  const r = await exec.run(["bash", "-c", 'bash "$1" >"$2" 2>&1', "hpcjob-convert", script, log]);
  const said = ((await exec.readFile(log)) ?? "").trim().split("\n");
  if (r.code !== 0) {
    const last = said.filter((l) => l.trim() !== "").slice(-8);
    throw new ExecError(
      `converting ${req.image.ref} failed (exit ${r.code}); nothing was left in ${onCluster(req.imageDir, home)}; the script and log are in ${runDir}`,
      last,
    );
  }
  const upToDate = said.some((l) => l.startsWith("hpcjob: up to date:"));
  return { data: { file, ref: req.image.ref, digest: req.image.digest, upToDate, runDir } };
}
