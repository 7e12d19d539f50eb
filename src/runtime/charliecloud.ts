/**
 * What Charliecloud needs beyond its entry in index.ts: where the job's folder
 * is inside the container, and which images `ch-fromhost` may write to. Pure.
 */
import { UsageError } from "../core/errors.js";
import { type Bind, subject } from "../core/values.js";

/** A path without trailing slashes ("/" stays "/"). */
function trimmed(path: string): string {
  return path.replace(/(.)\/+$/, "$1");
}

/**
 * `path` as the container sees it through one of `binds` (the one with the
 * deepest source holding it), or undefined when no bind holds it. ch-run
 * cannot create a mount point in a read-only image, so the job's folder is
 * reached through a bind the profile already makes where one holds it.
 */
export function pathThroughBinds(binds: readonly Bind[], path: string): string | undefined {
  let best: Bind | undefined;
  for (const b of binds) {
    const src = trimmed(b.src);
    const holds = path === src || path.startsWith(src === "/" ? "/" : `${src}/`);
    if (holds && (best === undefined || src.length > trimmed(best.src).length)) best = b;
  }
  if (best === undefined) return undefined;
  const rest = path.slice(trimmed(best.src).length).replace(/^\/*/, "");
  const dst = trimmed(best.dst);
  return rest === "" ? dst : `${dst === "/" ? "" : dst}/${rest}`;
}

/** Names ch-convert gives SquashFS files (and enroot's .sqsh); anything else is taken for an image directory. */
const SQUASHFS_NAME = /\.(sqfs|squash|squashfs|squishy|sqsh)$/i;

/**
 * `ch-fromhost --nvidia IMAGE` copies the node's NVIDIA libraries into the
 * image, so it needs an image directory the user can write: a SquashFS file
 * (given with `from`) is refused, saying how to make a directory.
 */
export function checkFromhostImage(image: string, from: string, cluster: string, converted = false): void {
  if (converted) {
    throw new UsageError(
      `${subject(from, image)} would be converted to a SquashFS file, but cluster ${cluster} runs ch-fromhost --nvidia on the image before a GPU job (container.charliecloud.fromhostNvidia), which writes into it: make an image directory you can write (ch-image pull REF && ch-convert REF /abs/path/image-dir) and give its path`,
    );
  }
  if (SQUASHFS_NAME.test(image)) {
    throw new UsageError(
      `${subject(from, image)} is a SquashFS file, but cluster ${cluster} runs ch-fromhost --nvidia on the image before a GPU job (container.charliecloud.fromhostNvidia), which writes into it: give an image directory you can write (make one with: ch-convert ${image} /abs/path/image-dir)`,
    );
  }
}
