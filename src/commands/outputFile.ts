/**
 * The one way a command writes a file the user named with -o: whole or not
 * at all (a temporary file in the same folder, then renamed or linked into
 * place), with one line saying why when it cannot.
 */
import { linkSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { UsageError } from "../core/errors.js";

/**
 * Write `text` to `path` (`shown` as the user wrote it) whole. With `replace`
 * an existing file is replaced; without it an existing file is kept and the
 * error says to pass --force: the link makes that check and the write one
 * step, so two runs cannot both write. `mode` is the new file's (less the umask).
 */
export function writeOutputFile(path: string, text: string, shown: string, replace: boolean, mode = 0o644): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`);
  try {
    writeFileSync(tmp, text, { flag: "wx", mode });
    if (replace) renameSync(tmp, path);
    else linkSync(tmp, path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST")
      throw new UsageError(`${shown} exists already; review it, then pass --force to replace it, or give -o another file`);
    const why =
      code === "ENOENT" || code === "ENOTDIR"
        ? `the folder ${dirname(shown)} does not exist`
        : code === "EISDIR"
          ? `${shown} is a folder`
          : code === "EACCES" || code === "EPERM" || code === "EROFS"
            ? "permission denied"
            : (e as Error).message;
    throw new UsageError(`cannot write ${shown}: ${why}; give -o a file in a folder you can write to`);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {}
  }
}
