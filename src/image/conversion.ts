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
import { type DockerRef, dockerUri, enrootUri } from "./reference.js";

/** An image resolved before converting: what the user named, what the converter reads, and its content's identity. */
export interface ImageToConvert {
  /** The reference as shown and recorded, e.g. docker://127.0.0.1:5443/lab/jupyter:1. */
  ref: string;
  /** The reference as this cluster's converter reads it (enroot spells a registry HOST#PATH). */
  source: string;
  /** The manifest digest that decides whether a file is up to date (sha256:...). */
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
  /** Scratch the converter needs for the unpacked image, and room for the file, in bytes. */
  tmpBytes: number;
  outBytes: number;
}

// Layers are compressed about 2-3x; the converter unpacks them in its scratch
// folder and packs the root filesystem again, so scratch needs about three
// times the download and the image folder about as much as the download.
const SCRATCH_FACTOR = 3;
const FILE_FACTOR = 1.5;

/** The conversion of `image` for the cluster of `profile`; a UsageError when its runtime runs no images. */
export function conversionRequest(profile: Profile, image: ImageToConvert, force: boolean): ConversionRequest {
  const runtime = runtimeOf(profile.container.runtime);
  const converter = runtime.converter;
  if (!converter || !runtime.imageExt) {
    throw new UsageError(`cluster ${profile.name} runs jobs on the host (container.runtime: none); there is no image to convert for it`);
  }
  const c = profile.container;
  const where = (key: string) => `cluster ${profile.name}'s container.${key}:`;
  return {
    cluster: profile.name,
    runtime,
    converter,
    image,
    fileName: `${image.stem}${runtime.imageExt}`,
    imageDir: parseClusterFolder(c.imageDir, where("imageDir")),
    cacheDir: c.cacheDir === undefined ? undefined : parseClusterFolder(c.cacheDir, where("cacheDir")),
    tmpDir: c.tmpDir === undefined ? undefined : parseClusterFolder(c.tmpDir, where("tmpDir")),
    force,
    tmpBytes: Math.ceil(image.size * SCRATCH_FACTOR),
    outBytes: Math.ceil(image.size * FILE_FACTOR),
  };
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
