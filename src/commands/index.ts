/**
 * Every command, in one module the CLI loads on first use. In the bundle this
 * is a chunk of its own, so `hpcjob --version` never loads it. The executors
 * are made here too, so the CLI's context reaches them without loading them.
 */
export { localClusterName, makeExecutor } from "../exec/placement.js";
export { batch } from "./batch.js";
export { list, schema, show, validate } from "./clusters.js";
export { detect } from "./detect.js";
export { doctor } from "./doctor.js";
export { imageConvert } from "./imageConvert.js";
export { imageDef } from "./imageDef.js";
export { imageLs, imageRm } from "./images.js";
export { init } from "./init.js";
export { attach, cancel, logs, ps } from "./jobs.js";
export { jupyter } from "./jupyter.js";
export { remoteInstall } from "./remote.js";
export { rerun, show as showRun } from "./runs.js";
