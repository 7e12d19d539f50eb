/**
 * The commands that read a cluster to write or check a profile: `clusters
 * detect`, `clusters doctor` and `init`. In the bundle this is a chunk of its
 * own, loaded by commands/index.ts when one of them runs, so a dry run (the
 * path most users take) neither reads nor compiles their code.
 */
export { detect } from "./detect.js";
export { doctor } from "./doctor.js";
export { init } from "./init.js";
