/**
 * Reading a text file the user named or keeps (a profile, config.yaml,
 * hpcjob.yaml): the ways that fails (missing, a folder, not readable) become
 * one-line ProfileErrors that say what to do.
 */
import { readFileSync } from "node:fs";
import { ProfileError } from "../core/errors.js";

/** Why a path cannot be read, in words, from the error reading it; undefined for errors that are not about the path. */
export function unreadable(path: string, e: unknown): string | undefined {
  switch ((e as NodeJS.ErrnoException)?.code) {
    case "ENOENT":
    case "ENOTDIR":
      return `${path} does not exist`;
    case "EISDIR":
      return `${path} is a folder, not a file`;
    case "EACCES":
    case "EPERM":
      return `${path} cannot be read (permission denied)`;
    default:
      return undefined;
  }
}

/**
 * The text of `path`; with `optional`, undefined when it does not exist.
 * Anything else that stops the read is a ProfileError ending with `fix`.
 */
export function readUserFile(path: string, fix: string, optional = false): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code;
    if (optional && (code === "ENOENT" || code === "ENOTDIR")) return undefined;
    const why = unreadable(path, e);
    if (why) throw new ProfileError(`${why}; ${fix}`);
    throw e;
  }
}
