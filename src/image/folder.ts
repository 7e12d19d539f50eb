/**
 * The image folder on a cluster (the profile's container.imageDir) as
 * `image ls` and `image rm` see it: one `find` lists every entry and prints
 * the records beside the images in the same answer (over SSH each command is
 * a round trip), and one `flock -n ... rm` removes an image unless a
 * conversion holds its lock. Argv and parsing only; no I/O.
 */
import { posix } from "node:path";
import { UsageError } from "../core/errors.js";
import type { ClusterFolder } from "../core/values.js";
import { canonicalRef, parseImage } from "./reference.js";

/** One image in the folder: the file, its size on disk, and what its record says (unknown for a file copied in by hand). */
export interface ImageFile {
  /** The file's name in the folder. */
  name: string;
  /** Its absolute path on the cluster. */
  path: string;
  /** Bytes on disk (a folder's total); unknown for a link to nothing. */
  size?: number;
  /** True for a folder (a Charliecloud image directory, say). */
  folder?: true;
  /** From the record FILE.json the conversion wrote, when there is one. */
  ref?: string;
  digest?: string;
  platform?: string;
  converter?: string;
  /** When it was converted, as recorded (UTC, 2026-11-23T14:06:30Z). */
  date?: string;
}

/** What starts each entry in the listing (a record's text cannot start a chunk with it). */
const MARK = "hpcjob-entry";
/** Records are a few hundred bytes; a larger .json is not one, and is not read. */
const RECORD_MAX = 65536;

/**
 * `find` on the folder, following links (a linked image counts at its
 * target's size): for each entry, a header `hpcjob-entry TYPE SIZE NAME`
 * and NUL, then for a .json file its text, for a folder `du`'s total, then
 * NUL. GNU find (-printf), as on Linux clusters; the folder is an argument,
 * never part of a shell string.
 */
export function listArgv(dir: string): string[] {
  return [
    "find",
    "-L",
    dir,
    "-mindepth",
    "1",
    "-maxdepth",
    "1",
    "-printf",
    `${MARK}\\t%y\\t%s\\t%f\\0`,
    "(",
    ...["-type", "f", "-name", "*.json", "-size", `-${RECORD_MAX}c`, "-exec", "cat", "--", "{}", ";"],
    ...["-o", "-type", "d", "-exec", "du", "-s", "-b", "-D", "--", "{}", ";"],
    ...["-o", "-true"],
    ")",
    "-printf",
    "\\0",
  ];
}

interface Entry {
  type: string;
  size: number;
  payload: string;
}

/** The entries of listArgv's output by name. */
function entries(stdout: string): Map<string, Entry> {
  const found = new Map<string, Entry>();
  let current: Entry | undefined;
  let payload: string[] = [];
  const finish = () => {
    if (current) current.payload = payload.join("\0");
  };
  // Every entry ends in NUL: nothing follows the last one.
  for (const chunk of stdout.replace(/\0$/, "").split("\0")) {
    const header = new RegExp(`^${MARK}\\t(.)\\t(\\d+)\\t(.+)$`, "s").exec(chunk);
    if (header) {
      finish();
      current = { type: header[1] as string, size: Number(header[2]), payload: "" };
      payload = [];
      found.set(header[3] as string, current);
    } else if (current) {
      payload.push(chunk);
    }
  }
  finish();
  return found;
}

/** The record's fields that are what they should be; nothing from a file that is not JSON. */
export function recordOf(text: string | undefined): Partial<ImageFile> {
  if (text === undefined) return {};
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof r !== "object" || r === null) return {};
  const fields: Partial<ImageFile> = {};
  for (const key of ["ref", "digest", "platform", "converter", "date"] as const) {
    const v = (r as Record<string, unknown>)[key];
    if (typeof v === "string" && v !== "") fields[key] = v;
  }
  if (fields.digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(fields.digest)) delete fields.digest;
  return fields;
}

/** Not an image: hidden files (conversions' partial files `.STEM.part-PID.EXT`), locks and records. */
function isImage(name: string): boolean {
  return !name.startsWith(".") && !name.endsWith(".lock") && !name.endsWith(".json");
}

/** A record's date in ms, or undefined. */
function when(f: ImageFile): number | undefined {
  const t = f.date === undefined ? Number.NaN : Date.parse(f.date);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * The images in listArgv's output for the folder `dir`: the newest
 * conversion first, then the files without a date (copied in by hand) by name.
 */
export function parseListing(stdout: string, dir: string): ImageFile[] {
  const all = entries(stdout);
  const images: ImageFile[] = [];
  for (const [name, e] of all) {
    if (!isImage(name)) continue;
    const record = all.get(`${name}.json`);
    const size = e.type === "d" ? Number.parseInt(e.payload, 10) : e.type === "l" ? Number.NaN : e.size;
    images.push({
      name,
      path: posix.join(dir, name),
      ...(Number.isNaN(size) ? {} : { size }),
      ...(e.type === "d" ? { folder: true as const } : {}),
      ...recordOf(record?.type === "f" ? record.payload : undefined),
    });
  }
  return images.sort((a, b) => (when(b) ?? -1) - (when(a) ?? -1) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** What `image rm` was asked to remove, as typed, before the folder is read. */
export type RmTarget =
  | { by: "ref"; ref: string; typed: string }
  | { by: "digest"; prefix: string }
  | { by: "name"; name: string }
  | { by: "path"; path: ClusterFolder };

/** The least of a digest that names it: 12 hex digits, as file names and `image ls` show it. */
const SHORT_DIGEST = 12;

/**
 * Read `what` as `image rm` takes it: a reference (`docker://...`), a digest
 * (`sha256:HEX` or bare hex, 12 digits or more), a path (absolute, or
 * `~/...`), else a file name in the folder; `./NAME` is that name. A UsageError
 * (exit 2) for what can name nothing in the folder.
 */
export function parseRmTarget(what: string): RmTarget {
  const text = what.trim();
  if (text === "") throw new UsageError("image rm needs the image: a file name, a docker:// reference or a digest (see: hpcjob image ls)");
  if (/^(docker|docker-daemon|docker-archive|oci-archive):/i.test(text)) {
    return { by: "ref", ref: canonicalRef(parseImage(text, "image rm")), typed: text };
  }
  const digest = /^(?:sha256:)?([0-9a-f]+)$/.exec(text);
  if (text.startsWith("sha256:") || (digest && (digest[1] as string).length >= SHORT_DIGEST)) {
    const hex = digest?.[1] ?? "";
    if (hex.length < SHORT_DIGEST || hex.length > 64) {
      throw new UsageError(
        `image rm ${JSON.stringify(text)} is not a digest hpcjob takes: give sha256: and ${SHORT_DIGEST} to 64 lowercase hex digits, as hpcjob image ls shows them`,
      );
    }
    return { by: "digest", prefix: `sha256:${hex}` };
  }
  if (text.startsWith("/")) return { by: "path", path: { under: "root", path: posix.normalize(text) } };
  if (text === "~" || text.startsWith("~/")) return { by: "path", path: { under: "home", path: posix.normalize(text.slice(2) || ".") } };
  const name = posix.normalize(text);
  if (name.includes("/") || name === "." || name === "..") {
    throw new UsageError(
      `image rm ${JSON.stringify(text)} is not a file in the image folder; give its name as hpcjob image ls shows it, or its absolute path`,
    );
  }
  return { by: "name", name };
}

/**
 * The name in the folder `dir` that a path target names; a UsageError when
 * it lies anywhere else (another folder, a subfolder). With `home` unknown
 * (before connecting), undefined when the answer needs it.
 */
export function nameInFolder(target: RmTarget, dir: ClusterFolder, home?: string): string | undefined {
  if (target.by === "name") return target.name;
  if (target.by !== "path") return undefined;
  const p = target.path;
  // Both under the home folder, or both from the root, compare as written; else once the home folder is known.
  const at = (f: ClusterFolder) =>
    home !== undefined ? posix.join(f.under === "home" ? home : "/", f.path) : posix.normalize(f.path || ".");
  if (home === undefined && p.under !== dir.under) return undefined;
  const [folder, path] = [at(dir), at(p)];
  const name = posix.basename(path);
  if (posix.dirname(path) !== folder || name === "" || name === "." || name === "..") {
    const shown = (f: ClusterFolder, abs: string) => (abs.startsWith("/") ? abs : `~/${f.path}`);
    throw new UsageError(
      `${shown(p, path)} is not in the image folder ${shown(dir, folder)}; hpcjob image rm removes only the images there (see: hpcjob image ls)`,
    );
  }
  return name;
}

/** The images `target` names; a UsageError when a digest prefix names several digests. */
export function matchImages(target: RmTarget, images: ImageFile[], name: string | undefined): ImageFile[] {
  switch (target.by) {
    case "ref":
      return images.filter((i) => i.ref !== undefined && (i.ref === target.ref || i.ref === target.typed));
    case "digest": {
      const found = images.filter((i) => i.digest?.startsWith(target.prefix));
      const digests = [...new Set(found.map((i) => i.digest))];
      if (digests.length > 1) {
        throw new UsageError(
          `${target.prefix} is the start of ${digests.length} digests (${digests.join(", ")}); give more of its hex digits`,
        );
      }
      return found;
    }
    default:
      return images.filter((i) => i.name === name);
  }
}

/**
 * Remove `images` (each with its record and lock) only if no conversion
 * holds any of their locks: `flock -n LOCK` for each, nested, around one
 * `rm -f`, as argv (no shell). Taking the locks without waiting is all or
 * nothing: nothing is removed under a running conversion. A conversion that
 * starts while rm runs waits on the lock, then converts the image anew, as
 * it would had the file never been there. flock creates a lock a file copied
 * in by hand lacks, and rm removes it. Exit 1 with nothing on stderr means a
 * lock was held (-E, --conflict-exit-code, is newer than some clusters'
 * util-linux: Ubuntu 14.04's 2.20 has none); rm -f never fails silently.
 */
export function removeArgv(images: ImageFile[]): string[] {
  const locks = images.flatMap((i) => ["flock", "-n", "--", `${i.path}.lock`]);
  return [...locks, "rm", "-f", "--", ...images.flatMap((i) => [i.path, `${i.path}.json`, `${i.path}.lock`])];
}
