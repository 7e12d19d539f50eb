/**
 * The cache of validated files: after a config file, project file or profile
 * has been parsed and validated (YAML and zod, the slow part of a start),
 * its value is kept as JSON in the user's cache folder, so the next run with
 * the same files loads neither library. An entry holds the build that
 * validated it and every file the value was read from, each with its
 * identity (device, inode, size, mtime and ctime to the nanosecond) and its
 * text; it is used only when all of them are unchanged, else the files are
 * read again the slow way. An invalid file is never stored, so its error
 * always comes from the slow path. An entry that cannot be read, is not
 * JSON, is from another build or lies in a folder others can write to is a
 * miss, never an error.
 *
 * Entries may hold what the files hold (env values too), so they are as
 * private as files can be: 0600 in a 0700 folder, written whole under a
 * temporary name and renamed into place.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { buildKey } from "../core/version.js";

/** Where entries go and the build they belong to. */
export interface ValueCache {
  dir: string;
  key: string;
}

/** One file a cached value was read from. */
export interface CachedFile {
  /** The file's absolute path, or builtin:clusters/NAME.yaml for a built-in profile. */
  id: string;
  /** Its identity when read (see stampOf); none for a built-in file, which comes with the build. */
  stamp?: string;
  /** Its text when read: a hit needs the same, so an edit within one tick of a coarse clock is still seen. */
  text: string;
  /** For a profile, the name it extends, so the chain can be followed again. */
  extends?: string;
}

/** A cached value and the files it was read from, in the order they were read. */
export interface CacheEntry<T> {
  files: CachedFile[];
  value: T;
}

/** hpcjob's folder for caches: $XDG_CACHE_HOME/hpcjob, or ~/.cache/hpcjob. */
export function cacheDir(e: { env: Record<string, string | undefined>; home: string }): string {
  // The XDG rule: a relative XDG_CACHE_HOME is ignored (it would put the cache wherever hpcjob runs).
  const xdg = e.env.XDG_CACHE_HOME;
  return xdg && isAbsolute(xdg) ? join(xdg, "hpcjob") : join(e.home, ".cache", "hpcjob");
}

/** The cache of validated files of this build; undefined when run from source, where no build key says when the schema changed. */
export function valueCache(e: { env: Record<string, string | undefined>; home: string }): ValueCache | undefined {
  const key = buildKey();
  return key === undefined ? undefined : { dir: cacheDir(e), key };
}

/** A file's identity: device, inode, size, mtime and ctime in nanoseconds; undefined when it cannot be stat'ed. */
export function stampOf(path: string): string | undefined {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return undefined;
  }
}

/** FNV-1a over a string, 32 bits from `seed`. */
function fnv(text: string, seed: number): string {
  let h = seed;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}

/** The entry's file: a name from the kind and a hash of the id (the entry repeats both, so a collision is a miss). */
function entryFile(cache: ValueCache, kind: string, id: string): string {
  return join(cache.dir, `${kind}-${fnv(id, 0x811c9dc5)}${fnv(id, 0x01000193)}.json`);
}

const isString = (v: unknown): v is string => typeof v === "string";

/** True when `f` has the shape of a CachedFile. */
function isCachedFile(f: unknown): f is CachedFile {
  const c = f as CachedFile;
  return (
    c !== null &&
    typeof c === "object" &&
    isString(c.id) &&
    isString(c.text) &&
    (c.stamp === undefined || isString(c.stamp)) &&
    (c.extends === undefined || isString(c.extends))
  );
}

/**
 * True when only this user can put files in the cache folder (theirs, and
 * writable by no one else), so its entries are ones hpcjob wrote: anyone else
 * who could write there could choose what hpcjob trusts.
 */
function trusted(dir: string): boolean {
  try {
    const s = statSync(dir);
    return s.isDirectory() && s.uid === process.getuid?.() && (s.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** The entry of this build for `kind` and `id`, or undefined (none, unreadable, not JSON, in an untrusted folder, another build's). */
export function readEntry<T>(cache: ValueCache, kind: string, id: string): CacheEntry<T> | undefined {
  if (!trusted(cache.dir)) return undefined;
  try {
    const entry = JSON.parse(readFileSync(entryFile(cache, kind, id), "utf8"));
    const ok = entry?.hpcjob === cache.key && entry.kind === kind && entry.id === id && "value" in entry;
    const files = ok && Array.isArray(entry.files) && entry.files.length > 0 && entry.files.every(isCachedFile);
    return files ? { files: entry.files, value: entry.value } : undefined;
  } catch {
    return undefined;
  }
}

/** Store an entry, atomically and privately; a cache that cannot be written is skipped. */
export function writeEntry<T>(cache: ValueCache, kind: string, id: string, entry: CacheEntry<T>): void {
  const file = entryFile(cache, kind, id);
  const tmp = `${file}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`;
  try {
    mkdirSync(cache.dir, { recursive: true, mode: 0o700 });
    const dir = statSync(cache.dir);
    if (!dir.isDirectory() || dir.uid !== process.getuid?.()) return;
    if ((dir.mode & 0o077) !== 0) chmodSync(cache.dir, 0o700);
    writeFileSync(tmp, JSON.stringify({ hpcjob: cache.key, kind, id, ...entry }), { mode: 0o600, flag: "wx" });
    renameSync(tmp, file);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {}
  }
}

/** The value cached for one file whose identity and text are now `stamp` and `text`, or undefined. */
export function cachedValue<T>(cache: ValueCache, kind: string, id: string, stamp: string, text: string): T | undefined {
  const entry = readEntry<T>(cache, kind, id);
  const f = entry?.files[0];
  return entry && entry.files.length === 1 && f?.stamp === stamp && f.text === text ? entry.value : undefined;
}

/**
 * The validated value of one file, whose text is `text`: from the cache when
 * it holds the file as it is, else from `validate` (which reads it with YAML
 * and zod, and throws for an invalid file) and then kept for next time.
 */
export async function validatedOnce<T>(
  e: { env: Record<string, string | undefined>; home: string },
  kind: string,
  file: string,
  text: string,
  validate: () => Promise<T>,
): Promise<T> {
  const cache = valueCache(e);
  const id = resolve(file);
  // Taken after the read: a hit needs the same text too, so a change in between is a miss, never a wrong value.
  const stamp = stampOf(id);
  const hit = cache && stamp ? cachedValue<T>(cache, kind, id, stamp, text) : undefined;
  if (hit !== undefined) return hit;
  const value = await validate();
  if (cache && stamp) writeEntry(cache, kind, id, { files: [{ id, stamp, text }], value });
  return value;
}
