/**
 * Container runtimes as data: how each one names images, which partial
 * template runs a command in the image, how binds are spelled and how the
 * environment crosses into the container. No I/O.
 */
import { isAbsolute, resolve } from "node:path";
import { UsageError } from "../core/errors.js";
import { type Bind, formatBind, subject } from "../core/values.js";
import { charliecloudAdditions, enrootAdditions, type ImageConfig, type RootAdditions } from "./rootfs.js";

/** enroot's .sqsh from the layers (pyxis and enroot clusters): mksquashfs of the root with enroot's files. */
const ENROOT_FROM_LAYERS: LayersConverter = { partial: "convert/enroot-layers.njk", tool: "mksquashfs", additions: enrootAdditions };

/** Runtime names a profile may choose (the profile schema's list). */
export const RUNTIME_NAMES = ["apptainer", "singularity", "pyxis", "enroot", "charliecloud", "none"] as const;
/** One of RUNTIME_NAMES. */
export type RuntimeName = (typeof RUNTIME_NAMES)[number];

/** How a runtime's images are made from a registry's or an archive: the partial that defines `hpcjob_convert` and its tool. */
export interface Converter {
  partial: string;
  tool: string;
  /** Where the tool keeps its cache when the profile names no container.cacheDir, when that is in the home folder. */
  homeCache?: string;
}

/** How a runtime's file is built from an image's layers where its converter reads no archive: the partial that packs the unpacked root, its tool, and what it adds to the root. */
export interface LayersConverter extends Converter {
  additions(config: ImageConfig): RootAdditions;
}

/** What the templates need to know about one runtime. */
export interface Runtime {
  name: RuntimeName;
  /** Partial that defines `hpcjob_run` (and `hpcjob_runtime_cleanup`) in the script. */
  partial: string;
  /** The program the partial calls (apptainer or singularity share a partial). */
  tool: string;
  /** Prefix that makes a variable override the image's own (APPTAINERENV_), if any. */
  envPrefix?: string;
  /** File extension of the image format, for messages and conversion. */
  imageExt?: ".sif" | ".sqsh" | ".sqfs";
  /** URI schemes the runtime reads directly instead of a file. */
  schemes: string[];
  /** How a user makes an image this runtime runs from a registry's, for messages. */
  makeImage?: string;
  /** How images are converted for it; none for a runtime without images. */
  converter?: Converter;
  /** How an image archive (from the user's computer) becomes its file, where `converter` reads none: built from the layers. */
  fromLayers?: LayersConverter;
  /** How one bind is spelled on this runtime's command line. */
  bind(b: Bind): string;
  /** False when the runtime cannot bind read-only (Charliecloud's ch-run -b is always read-write). */
  readOnlyBinds: boolean;
  /** False when a variable's value cannot hold a newline (Charliecloud's --set-env file has one variable a line). */
  multilineEnv: boolean;
  /**
   * The tool's process name when it may stay the program's parent without
   * passing signals on, so a forwarded signal goes to its children instead
   * (ch-run on a SquashFS image forks to serve it). Unset: the tool passes
   * signals on (apptainer's starter, srun) or becomes the program (exec).
   */
  signalsStopAt?: string;
  /**
   * True when the program in the container sees the job's own environment
   * as it is, so a variable the image does not set needs no passing (a
   * sweep's HPCJOB_PARAM_*): Apptainer would evaluate $ and ` in an
   * APPTAINERENV_ value, and Charliecloud's --set-env file cannot hold every
   * value. False for enroot, whose containers get only what --env names.
   */
  hostEnv: boolean;
}

const APPTAINER_SCHEMES = ["docker://", "docker-daemon:", "docker-archive:", "oras://", "library://", "shub://", "http://", "https://"];

const RUNTIMES: Record<RuntimeName, Runtime> = {
  apptainer: {
    name: "apptainer",
    converter: { partial: "convert/apptainer.njk", tool: "apptainer", homeCache: "~/.apptainer/cache" },
    partial: "runtime/apptainer.njk",
    tool: "apptainer",
    envPrefix: "APPTAINERENV_",
    imageExt: ".sif",
    schemes: APPTAINER_SCHEMES,
    bind: formatBind,
    readOnlyBinds: true,
    multilineEnv: true,
    hostEnv: true,
  },
  singularity: {
    name: "singularity",
    converter: { partial: "convert/apptainer.njk", tool: "singularity", homeCache: "~/.singularity/cache" },
    partial: "runtime/apptainer.njk",
    tool: "singularity",
    envPrefix: "SINGULARITYENV_",
    imageExt: ".sif",
    schemes: APPTAINER_SCHEMES,
    bind: formatBind,
    readOnlyBinds: true,
    multilineEnv: true,
    hostEnv: true,
  },
  pyxis: {
    name: "pyxis",
    converter: { partial: "convert/enroot.njk", tool: "enroot", homeCache: "~/.cache/enroot" },
    fromLayers: ENROOT_FROM_LAYERS,
    partial: "runtime/pyxis.njk",
    tool: "srun",
    imageExt: ".sqsh",
    schemes: [],
    makeImage: "enroot import -o /abs/path/image.sqsh docker://REF",
    bind: formatBind,
    readOnlyBinds: true,
    multilineEnv: true,
    hostEnv: true,
  },
  enroot: {
    name: "enroot",
    converter: { partial: "convert/enroot.njk", tool: "enroot", homeCache: "~/.cache/enroot" },
    fromLayers: ENROOT_FROM_LAYERS,
    partial: "runtime/enroot.njk",
    tool: "enroot",
    imageExt: ".sqsh",
    schemes: [],
    makeImage: "enroot import -o /abs/path/image.sqsh docker://REF",
    // enroot --mount takes fstab fields separated by colons: SRC:DST[:TYPE:OPTIONS].
    bind: (b) => (b.readOnly ? `${b.src}:${b.dst}:none:bind,ro` : `${b.src}:${b.dst}`),
    readOnlyBinds: true,
    multilineEnv: true,
    hostEnv: false,
  },
  charliecloud: {
    name: "charliecloud",
    converter: { partial: "convert/charliecloud.njk", tool: "ch-image" },
    fromLayers: { partial: "convert/charliecloud-layers.njk", tool: "ch-convert", additions: charliecloudAdditions },
    partial: "runtime/charliecloud.njk",
    tool: "ch-run",
    imageExt: ".sqfs",
    schemes: [],
    makeImage: "ch-image pull REF && ch-convert REF /abs/path/image.sqfs",
    // ch-run -b SRC:DST; it has no read-only binds, so a :ro bind is refused before this (readOnlyBinds).
    bind: (b) => `${b.src}:${b.dst}`,
    readOnlyBinds: false,
    multilineEnv: false,
    signalsStopAt: "ch-run",
    hostEnv: true,
  },
  none: {
    name: "none",
    partial: "runtime/none.njk",
    tool: "",
    schemes: [],
    bind: formatBind,
    readOnlyBinds: true,
    multilineEnv: true,
    hostEnv: true,
  },
};

/** The runtime called `name`. */
export function runtimeOf(name: RuntimeName): Runtime {
  return RUNTIMES[name];
}

/**
 * The image as the runtime will be given it: a URI the runtime reads itself,
 * or an absolute path (relative paths are taken from `workdir`). Throws a
 * UsageError that says what this runtime accepts, naming where the image
 * was given (`from`: --image, or hpcjob.yaml's line).
 */
export function resolveImage(
  rt: Runtime,
  image: string | undefined,
  cluster: string,
  workdir: string | undefined,
  from = "--image",
): string | undefined {
  if (rt.name === "none") {
    if (image)
      throw new UsageError(
        `${subject(from, image)} cannot be used: cluster ${cluster} runs jobs on the host (container.runtime: none); drop it, or use a profile with a container runtime`,
      );
    return undefined;
  }
  if (!image) {
    throw new UsageError(
      `cluster ${cluster} runs jobs in a container (${rt.name}); pass --image /path/to/image${rt.imageExt ?? ""} or set image: in hpcjob.yaml`,
    );
  }
  if (rt.schemes.some((s) => image.startsWith(s))) return image;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(image)) {
    const accepted = rt.schemes.length ? `URIs it reads are ${rt.schemes.join(" ")}` : `it needs a ${rt.imageExt} file`;
    const how = rt.makeImage ? ` (make one with: ${rt.makeImage})` : "";
    throw new UsageError(
      `${subject(from, image)} cannot be run by ${rt.name}: ${accepted}; convert the image and give its path, e.g. /abs/path/image${rt.imageExt ?? ""}${how}`,
    );
  }
  if (/[\n\r,]/.test(image)) throw new UsageError(`${subject(from, image)} may not contain newlines or commas; rename the file`);
  // A relative path with no folder known yet (over SSH, the cluster home) stays relative until the site is (imagePathAt).
  const path = isAbsolute(image) || workdir === undefined ? image : resolve(workdir, image);
  if ((rt.name === "pyxis" || rt.name === "enroot") && !/\.(sqsh|squashfs)$/.test(path)) {
    throw new UsageError(`${subject(from, image)} is not a squashfs image: ${rt.name} runs .sqsh files (make one with: ${rt.makeImage})`);
  }
  if (rt.name === "charliecloud" && /\.sif$/i.test(path)) {
    throw new UsageError(
      `${subject(from, image)} is a SIF, which ch-run cannot run: Charliecloud runs a SquashFS file or an image directory (make one with: ${rt.makeImage})`,
    );
  }
  return path;
}

/** The image as the job at `workdir` is given it: a URI or absolute path as it is, a relative path from `workdir`. */
export function imagePathAt(rt: Runtime, image: string | undefined, workdir: string): string | undefined {
  if (image === undefined || isAbsolute(image) || rt.schemes.some((s) => image.startsWith(s))) return image;
  return resolve(workdir, image);
}

/** Why this runtime cannot make `bind`, or undefined: Charliecloud's ch-run has no read-only binds. */
export function bindProblem(rt: Runtime, bind: Bind): string | undefined {
  if (bind.readOnly && !rt.readOnlyBinds) {
    return `is read-only, which ${rt.tool} (${rt.name}) cannot make: its binds are always read-write; drop ":ro"`;
  }
  return undefined;
}

/** Why this runtime cannot pass a variable with `value` into the container, or undefined. */
export function envValueProblem(rt: Runtime, value: string): string | undefined {
  if (value.includes("\n") && !rt.multilineEnv) {
    return `has a newline, which ${rt.tool} (${rt.name}) cannot pass into the container (its --set-env file holds one variable a line); put it on one line`;
  }
  return undefined;
}
