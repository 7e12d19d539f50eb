/**
 * Every command, in one module the CLI loads on first use. In the bundle this
 * is a chunk of its own, so `hpcjob --version` never loads it; the commands
 * a dry run never needs (image def, clusters detect and doctor, init) are
 * chunks of their own again, loaded when they run. The executors
 * are made here too, so the CLI's context reaches them without loading them.
 */
export { localClusterName, makeExecutor } from "../exec/placement.js";
export { batch } from "./batch.js";
export { list, schema, show, validate } from "./clusters.js";
export { imageConvert } from "./imageConvert.js";
export { imageLs, imageRm } from "./images.js";
export { attach, cancel, logs, ps } from "./jobs.js";
export { jupyter } from "./jupyter.js";
export { remoteInstall } from "./remote.js";
export { rerun, show as showRun } from "./runs.js";

/** `image def` (Dockerfile to Apptainer definition: a parser a dry run never needs), a chunk loaded on first use. */
type ImageDefCommand = typeof import("./imageDef.js");

/** `image def`, from its chunk. */
export async function imageDef(...args: Parameters<ImageDefCommand["imageDef"]>): ReturnType<ImageDefCommand["imageDef"]> {
  return (await import("./imageDef.js")).imageDef(...args);
}

/** The site commands' module (site.ts), a chunk loaded on first use. */
type SiteCommands = typeof import("./site.js");
const siteCommands = (): Promise<SiteCommands> => import("./site.js");

/** `clusters detect`, from the site chunk. */
export async function detect(...args: Parameters<SiteCommands["detect"]>): ReturnType<SiteCommands["detect"]> {
  return (await siteCommands()).detect(...args);
}

/** `clusters doctor`, from the site chunk. */
export async function doctor(...args: Parameters<SiteCommands["doctor"]>): ReturnType<SiteCommands["doctor"]> {
  return (await siteCommands()).doctor(...args);
}

/** `init`, from the site chunk. */
export async function init(...args: Parameters<SiteCommands["init"]>): ReturnType<SiteCommands["init"]> {
  return (await siteCommands()).init(...args);
}
