/**
 * A conversion: which image becomes which file on which cluster, and where
 * the converter may keep its cache and scratch. Built from the profile and
 * the resolved image (its digest known before anything is converted); the
 * conversion script (render/convert.ts) is a function of it. No I/O.
 */
import { UsageError } from "../core/errors.js";
import { type ClusterFolder, parseClusterFolder } from "../core/values.js";
import type { Profile } from "../profile/schema.js";
import { type Converter, type Runtime, runtimeOf } from "../runtime/index.js";
import type { ImageConfig, RootAdditions } from "../runtime/rootfs.js";
import { type Directive, parseDirective } from "../slurm/directives.js";
import { JOB_COMMENT } from "../slurm/sbatch.js";
import { type DockerRef, dockerUri, enrootUri } from "./reference.js";

/** An image resolved before converting: what the user named, what the converter reads, and its content's identity. */
export interface ImageToConvert {
  /** The reference as shown and recorded, e.g. docker://127.0.0.1:5443/lab/jupyter:1, docker-daemon:lab/app:1. */
  ref: string;
  /** The reference as this cluster's converter reads it (enroot spells a registry HOST#PATH; an image sent from this computer is docker-archive:PATH or oci-archive:PATH there). */
  source: string;
  /** The digest that decides whether a file is up to date (sha256:...): a registry's or OCI archive's manifest digest, a docker-archive's or daemon image's config digest (its image ID). */
  digest: string;
  /** The platform converted, e.g. linux/amd64. */
  platform: string;
  /** The image's compressed size in bytes, for the free-space check. */
  size: number;
  /** A file name without extension that no other image (registry, path, tag or digest) shares. */
  stem: string;
}

/** Everything the conversion script is made from. */
export interface ConversionRequest {
  cluster: string;
  runtime: Runtime;
  converter: Converter;
  image: ImageToConvert;
  /** The file's name in imageDir, with the runtime's extension. */
  fileName: string;
  imageDir: ClusterFolder;
  cacheDir?: ClusterFolder;
  tmpDir?: ClusterFolder;
  /** Convert even when a file of this digest is there. */
  force: boolean;
  /** The Slurm job the conversion runs as (the profile's convertOn: job); on the login node when absent. */
  job?: ConversionJob;
  /** Scratch the converter needs for the unpacked image, and room for the file, in bytes. */
  tmpBytes: number;
  outBytes: number;
  /** A file hpcjob sent to the cluster for this conversion (an image from the user's computer): the script removes it when it ends. */
  sent?: string;
  /** The profile's environment.modules and environment.setup, run first as in its jobs: the converter may be a module. */
  modules: string[];
  setup: string[];
  /** The image's file is built from its layers (an archive on a runtime whose converter reads none): where and what. */
  unpack?: Unpack;
}

/** An image archive on the cluster unpacked layer by layer into a root filesystem, with the runtime's files added. */
export interface Unpack {
  /** The tar on the cluster (docker-archive or OCI archive). */
  archive: string;
  /** Its members that are the layers, bottom first. */
  layers: string[];
  /** What the runtime's converter adds to the root (its config files). */
  additions: RootAdditions;
}

// Layers are compressed about 2-3x; the converter unpacks them in its scratch
// folder and packs the root filesystem again, so scratch needs about three
// times the download and the image folder about as much as the download.
const SCRATCH_FACTOR = 3;
const FILE_FACTOR = 1.5;

/** Where a conversion job runs and who pays for it. */
export interface ConversionJob {
  partition: string;
  account?: string;
  /** The site's own sbatch options (the profile's slurm.directives). */
  directives: Directive[];
  /** Options the site never takes (the profile's slurm.skipDirectives). */
  skip: string[];
}

/** The Slurm job name of conversions, so squeue shows what they are. */
export const CONVERSION_JOB_NAME = "hpcjob-convert";
/** A conversion job's time limit: pulling and packing a large image takes minutes, not hours. */
export const CONVERSION_TIME = "01:00:00";

/** The cluster's runtime and the tool that converts images for it; a UsageError when its jobs run on the host. */
export function converterOf(profile: Profile): { runtime: Runtime; converter: Converter; ext: string } {
  const runtime = runtimeOf(profile.container.runtime);
  const converter = runtime.converter;
  if (!converter || !runtime.imageExt) {
    throw new UsageError(`cluster ${profile.name} runs jobs on the host (container.runtime: none); there is no image to convert for it`);
  }
  return { runtime, converter, ext: runtime.imageExt };
}

/** The file a conversion writes on the cluster: its folder and its name (the image's stem and the runtime's extension). */
export function convertedFile(profile: Profile, stem: string) {
  const { runtime, converter, ext } = converterOf(profile);
  return { imageDir: imageFolder(profile), fileName: `${stem}${ext}`, runtime, converter };
}

/** The profile's image folder (container.imageDir), where conversions write and `image ls` looks. */
export function imageFolder(profile: Profile): ClusterFolder {
  return parseClusterFolder(profile.container.imageDir, `cluster ${profile.name}'s container.imageDir:`);
}

/** The job a conversion runs as on this cluster, or undefined where it runs on the login node; `account` is --account. */
function conversionJob(profile: Profile, account: string | undefined): ConversionJob | undefined {
  if (profile.container.convertOn !== "job") return undefined;
  const a = profile.slurm.account;
  const charged = account ?? a.default;
  if (a.required && charged === undefined) {
    throw new UsageError(
      `cluster ${profile.name} converts images in a Slurm job and needs an account for it; add --account NAME${a.hint ? ` (${a.hint})` : ""}`,
    );
  }
  return {
    partition: profile.container.convertPartition ?? profile.slurm.partition,
    account: charged,
    directives: profile.slurm.directives.map((d) => parseDirective(d, `cluster ${profile.name}'s slurm.directives:`)),
    skip: profile.slurm.skipDirectives,
  };
}

/** The conversion of `image` for the cluster of `profile`; a UsageError when its runtime runs no images. */
export function conversionRequest(profile: Profile, image: ImageToConvert, force: boolean, account?: string): ConversionRequest {
  const { imageDir, fileName, runtime, converter } = convertedFile(profile, image.stem);
  const c = profile.container;
  const where = (key: string) => `cluster ${profile.name}'s container.${key}:`;
  return {
    cluster: profile.name,
    runtime,
    converter,
    image,
    fileName,
    imageDir,
    cacheDir: c.cacheDir === undefined ? undefined : parseClusterFolder(c.cacheDir, where("cacheDir")),
    tmpDir: c.tmpDir === undefined ? undefined : parseClusterFolder(c.tmpDir, where("tmpDir")),
    force,
    job: conversionJob(profile, account),
    tmpBytes: Math.ceil(image.size * SCRATCH_FACTOR),
    outBytes: Math.ceil(image.size * FILE_FACTOR),
    modules: profile.environment.modules,
    setup: profile.environment.setup,
  };
}

/** The sbatch options of a conversion job whose log is `log`, minus the ones the site never takes. */
export function conversionDirectives(job: ConversionJob, log: string): Directive[] {
  const own: Directive[] = [
    { key: "job-name", value: CONVERSION_JOB_NAME },
    { key: "output", value: log },
    { key: "partition", value: job.partition },
    { key: "time", value: CONVERSION_TIME },
    { key: "comment", value: JOB_COMMENT },
  ];
  if (job.account) own.push({ key: "account", value: job.account });
  const skipped = new Set(job.skip);
  return [...own, ...job.directives].filter((d) => !skipped.has(d.key));
}

/**
 * The reference as `converter` pulls it, pinned to `digest` so a tag that
 * moves after hpcjob resolved it cannot change what is converted: enroot
 * spells a registry HOST#PATH; ch-image takes a reference without a scheme.
 */
export function converterSource(converter: Converter, ref: DockerRef, digest: string): string {
  if (converter.tool === "enroot") return enrootUri(ref, digest);
  const uri = dockerUri(ref, digest);
  return converter.tool === "ch-image" ? uri.slice("docker://".length) : uri;
}

/**
 * The conversion `req` of an image archive that is at `archive` on the
 * cluster with `layers` and `config`: as it is where the converter reads
 * archives (Apptainer, Singularity), else built from the layers by the
 * runtime's own way (enroot's .sqsh, Charliecloud's SquashFS).
 */
export function fromArchive(req: ConversionRequest, archive: string, layers: string[], config: ImageConfig): ConversionRequest {
  const built = req.runtime.fromLayers;
  if (built === undefined) return req;
  return {
    ...req,
    converter: { partial: built.partial, tool: built.tool },
    unpack: { archive, layers, additions: built.additions(config) },
  };
}

/** An archive as Apptainer and Singularity read it, `docker-archive:PATH` or `oci-archive:PATH`, with the image inside it when named (`:REF`). */
export function archiveSource(kind: "docker-archive" | "oci-archive", path: string, inside?: string): string {
  return `${kind}:${path}${inside !== undefined ? `:${inside}` : ""}`;
}

/**
 * A note for a conversion that writes in the home folder of a cluster whose
 * profile states the home's quota (container.homeQuota): what goes there
 * (the image folder, the converter's cache, its scratch) and the keys that
 * move it. Undefined when nothing does, or no quota is stated.
 */
export function homeQuotaNote(req: ConversionRequest, profile: Profile): string | undefined {
  const quota = profile.container.homeQuota;
  if (quota === undefined) return undefined;
  const c = profile.container;
  const inHome: string[] = [];
  if (req.imageDir.under === "home") inHome.push(`the image folder (${c.imageDir}, container.imageDir)`);
  if (req.cacheDir?.under === "home") inHome.push(`${req.converter.tool}'s cache (${c.cacheDir}, container.cacheDir)`);
  else if (req.cacheDir === undefined && req.converter.homeCache)
    inHome.push(`${req.converter.tool}'s cache (${req.converter.homeCache}, container.cacheDir unset)`);
  if (req.tmpDir?.under === "home") inHome.push(`the scratch folder (${c.tmpDir}, container.tmpDir)`);
  if (inHome.length === 0) return undefined;
  const what = inHome.length === 1 ? inHome[0] : `${inHome.slice(0, -1).join(", ")} and ${inHome.at(-1)}`;
  return `cluster ${req.cluster}'s home folder has a quota (${quota}) and this conversion writes there: ${what}; point those keys at project or group storage in the profile`;
}

/** What a failed conversion's log says of a disk quota (EDQUOT: space or file count), with the keys to change; undefined when it says nothing of one. */
export function quotaProblem(log: readonly string[], req: ConversionRequest): string | undefined {
  if (!log.some((l) => /disk quota exceeded|EDQUOT/i.test(l))) return undefined;
  return `a disk quota was exceeded: the home folder on most clusters limits space and the number of files; set container.cacheDir and container.tmpDir (and container.imageDir) in cluster ${req.cluster}'s profile to project or group storage`;
}
