/**
 * Finding and loading cluster profiles. Search path, first match wins:
 * $HPCJOB_CLUSTERS (colon-separated folders), ~/.config/hpcjob/clusters/,
 * then the built-in clusters/. `extends: OTHER` deep-merges this profile over
 * OTHER (maps merged, lists replaced); a profile may extend one of the same
 * name further down the path (a user's vera.yaml over the built-in vera).
 * YAML and zod are imported only when a file has to be read: a built-in
 * profile comes already validated from the build (see builtin.ts), and
 * another one from the cache of validated files (cache.ts) when its whole
 * chain is unchanged.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { hasAsset, listAssets, readAsset } from "../core/assets.js";
import { isHpcjobError, ProfileError } from "../core/errors.js";
import { isName, parseName } from "../core/values.js";
import { builtinProfiles } from "./builtin.js";
import { type CachedFile, readEntry, stampOf, type ValueCache, valueCache, writeEntry } from "./cache.js";
import { checkProfile } from "./rules.js";
import type { Profile } from "./schema.js";
import { readUserFile, unreadable } from "./userFile.js";
import type { YamlSource } from "./yamlFile.js";

/** Where hpcjob looks for things: the environment and the home folder. */
export interface Env {
  env: Record<string, string | undefined>;
  home: string;
}

/** One folder on the profile search path. */
export interface SearchDir {
  /** Folder on disk, or "builtin" for the profiles that ship with hpcjob. */
  dir: string;
  origin: "HPCJOB_CLUSTERS" | "user" | "builtin";
}

/** A profile file found on the search path. */
export interface ProfileFile {
  name: string;
  /** Path shown in messages; built-ins show as clusters/NAME.yaml. */
  file: string;
  origin: SearchDir["origin"];
  /** Position on the search path, so `extends` can look further down. */
  rank: number;
  read(): string;
}

/** A loaded, validated profile and the files it was merged from (child first). */
export interface LoadedProfile {
  profile: Profile;
  file: string;
  origin: SearchDir["origin"];
  chain: string[];
}

/** The user's hpcjob config folder: $XDG_CONFIG_HOME/hpcjob or ~/.config/hpcjob. */
export function configDir(e: Env): string {
  const xdg = e.env.XDG_CONFIG_HOME;
  return xdg ? join(xdg, "hpcjob") : join(e.home, ".config", "hpcjob");
}

/** The profile search path, in order. */
export function searchPath(e: Env): SearchDir[] {
  const dirs: SearchDir[] = [];
  for (const d of (e.env.HPCJOB_CLUSTERS ?? "").split(":")) {
    if (d) dirs.push({ dir: resolve(d), origin: "HPCJOB_CLUSTERS" });
  }
  dirs.push({ dir: join(configDir(e), "clusters"), origin: "user" });
  dirs.push({ dir: "builtin", origin: "builtin" });
  return dirs;
}

/**
 * What is wrong with the folders on the search path: an HPCJOB_CLUSTERS
 * entry that is missing or a file, a user folder that is a file. The
 * folders themselves are skipped; commands report these as notes.
 */
export function searchPathProblems(e: Env): string[] {
  const problems: string[] = [];
  for (const sd of searchPath(e)) {
    if (sd.origin === "builtin") continue;
    try {
      if (statSync(sd.dir).isDirectory()) continue;
      problems.push(
        sd.origin === "HPCJOB_CLUSTERS"
          ? `HPCJOB_CLUSTERS names ${sd.dir}, which is a file, not a folder; list folders of profiles there, separated by ':'`
          : `${sd.dir} is a file, not a folder; move it away and keep your profiles in a folder of that name`,
      );
    } catch (err) {
      // The user's own folder need not exist; a folder in HPCJOB_CLUSTERS was named on purpose.
      if (sd.origin === "user" && (err as NodeJS.ErrnoException).code === "ENOENT") continue;
      const why = unreadable(sd.dir, err) ?? `${sd.dir} cannot be read (${(err as Error).message})`;
      problems.push(
        sd.origin === "HPCJOB_CLUSTERS" ? `HPCJOB_CLUSTERS names a folder that cannot be used: ${why}; fix HPCJOB_CLUSTERS` : `${why}`,
      );
    }
  }
  return problems;
}

/** The names in a profile folder, or none when it cannot be listed (searchPathProblems says why). */
function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

const PROFILE_EXT = new Set([".yaml", ".yml"]);

/** True when a file name is a profile's (NAME.yaml or NAME.yml). */
export function isProfileFileName(file: string): boolean {
  return PROFILE_EXT.has(extname(file));
}

const ON_PATH_FIX = "profiles on the search path must be YAML files; move it away or make it one";

/** A profile file on disk, read when needed; a folder or unreadable file is a one-line ProfileError ending with `fix`. */
function diskProfile(file: string, shown: string, origin: SearchDir["origin"], rank: number, fix = ON_PATH_FIX): ProfileFile {
  return { name: basename(file, extname(file)), file: shown, origin, rank, read: () => readUserFile(file, fix) ?? "" };
}

/** Every profile file on the search path, in search order (shadowed ones included). */
export function profileFiles(e: Env): ProfileFile[] {
  const out: ProfileFile[] = [];
  searchPath(e).forEach((sd, rank) => {
    if (sd.origin === "builtin") {
      for (const key of listAssets("clusters")) {
        if (!PROFILE_EXT.has(extname(key))) continue;
        out.push({ name: basename(key, extname(key)), file: key, origin: "builtin", rank, read: () => readAsset(key) });
      }
      return;
    }
    for (const f of listDir(sd.dir)) {
      if (!isProfileFileName(f)) continue;
      const file = join(sd.dir, f);
      out.push(diskProfile(file, file, sd.origin, rank));
    }
  });
  return out;
}

/**
 * The first profile named `name` on the search path below `afterRank`. Looks
 * for NAME.yaml / NAME.yml in each folder rather than listing them: this runs
 * on every submission. Anything but a name (`../x`, `a/b`) is never found.
 */
function find(e: Env, name: string, afterRank = -1): ProfileFile | undefined {
  if (!isName(name)) return undefined;
  const dirs = searchPath(e);
  for (let rank = afterRank + 1; rank < dirs.length; rank++) {
    const sd = dirs[rank] as SearchDir;
    for (const ext of PROFILE_EXT) {
      if (sd.origin === "builtin") {
        const key = `clusters/${name}${ext}`;
        // Own properties only: "constructor" is not a built-in profile.
        if ((builtinProfiles && Object.hasOwn(builtinProfiles, name)) || hasAsset(key))
          return { name, file: key, origin: "builtin", rank, read: () => readAsset(key) };
        continue;
      }
      const file = join(sd.dir, `${name}${ext}`);
      if (existsSync(file)) return diskProfile(file, file, sd.origin, rank);
    }
  }
  return undefined;
}

/** Deep merge for `extends`: maps merge key by key, anything else (lists too) is replaced. */
export function deepMerge(base: unknown, over: unknown): unknown {
  const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
  if (!isMap(base) || !isMap(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

/** One file of a profile's chain as it was read: what the cache of validated files records of it. */
type ChainFile = CachedFile & { pf: ProfileFile };

/** The raw data of a profile file merged over everything it extends, child source first, and the files read. */
async function resolveChain(
  e: Env,
  pf: ProfileFile,
  seen: ProfileFile[] = [],
): Promise<{ data: unknown; sources: YamlSource[]; files: ChainFile[] }> {
  const { locate, parseYaml } = await import("./files.js");
  if (seen.some((s) => sameFile(s, pf))) {
    throw new ProfileError(
      `${pf.file}:1 extends: the profiles extend each other in a loop (${[...seen, pf].map((s) => s.file).join(" -> ")}); break the loop`,
    );
  }
  const text = pf.read();
  const src = parseYaml(pf.file, text);
  const data = src.data as Record<string, unknown>;
  const parent = data?.extends;
  const file: ChainFile = { pf, id: idOf(pf), stamp: stampOfProfile(pf), text };
  if (typeof parent !== "string") return { data, sources: [src], files: [file] };
  try {
    parseName(parent, undefined);
  } catch (err) {
    if (!isHpcjobError(err)) throw err;
    throw new ProfileError(locate([src], { path: ["extends"], message: err.message }));
  }
  const base = parentOf(e, pf, parent);
  if (!base || sameFile(base, pf)) {
    const known = knownNames(e).join(", ");
    throw new ProfileError(
      locate([src], { path: ["extends"], message: `no profile named "${parent}" to extend; known profiles: ${known}` }),
    );
  }
  const merged = await resolveChain(e, base, [...seen, pf]);
  const { extends: _dropped, ...own } = data;
  return { data: deepMerge(merged.data, own), sources: [src, ...merged.sources], files: [{ ...file, extends: parent }, ...merged.files] };
}

/** The profile `pf` extends when it says `extends: parent`: one of its own name is looked for further down the path. */
function parentOf(e: Env, pf: ProfileFile, parent: string): ProfileFile | undefined {
  return parent === pf.name ? find(e, parent, pf.rank) : find(e, parent);
}

/** A profile file's id in the cache of validated files: its absolute path, or builtin:clusters/NAME.yaml. */
function idOf(pf: ProfileFile): string {
  return pf.origin === "builtin" ? `builtin:${pf.file}` : resolve(pf.file);
}

/** A profile file's identity on disk (see stampOf); none for a built-in, which comes with the build. */
function stampOfProfile(pf: ProfileFile): string | undefined {
  return pf.origin === "builtin" ? undefined : stampOf(resolve(pf.file));
}

/**
 * `pf` loaded from the cache of validated files, when the entry's chain is
 * still what `extends` finds on today's search path, file by file, and each
 * file is unchanged; else undefined. A profile added higher up the path, or
 * another HPCJOB_CLUSTERS, is a miss like an edit is.
 */
function cachedProfile(e: Env, cache: ValueCache, pf: ProfileFile): LoadedProfile | undefined {
  const entry = readEntry<Profile>(cache, "profile", idOf(pf));
  if (!entry) return undefined;
  const chain: string[] = [];
  let at: ProfileFile | undefined = pf;
  for (const f of entry.files) {
    if (!at || idOf(at) !== f.id || stampOfProfile(at) !== f.stamp || readOrUndefined(at) !== f.text) return undefined;
    chain.push(at.file);
    if (f.extends === undefined) break;
    at = parentOf(e, at, f.extends);
  }
  // The chain ends where the entry says: at its last file, which extends nothing.
  if (chain.length !== entry.files.length || entry.files.at(-1)?.extends !== undefined) return undefined;
  return { profile: entry.value, file: pf.file, origin: pf.origin, chain };
}

/** The text of a profile file, or undefined when it cannot be read (the slow path says why). */
function readOrUndefined(pf: ProfileFile): string | undefined {
  try {
    return pf.read();
  } catch {
    return undefined;
  }
}

/** True when two profile files are the same file, however their paths were written. */
function sameFile(a: ProfileFile, b: ProfileFile): boolean {
  if (a.origin === "builtin" || b.origin === "builtin") return a.origin === b.origin && a.file === b.file;
  return resolve(a.file) === resolve(b.file);
}

/** Load, merge and validate one profile file; errors name the file, line and key. */
export async function loadProfileFile(e: Env, pf: ProfileFile): Promise<LoadedProfile> {
  const ready =
    pf.origin === "builtin" && builtinProfiles && Object.hasOwn(builtinProfiles, pf.name) ? builtinProfiles[pf.name] : undefined;
  if (ready) return { profile: ready, file: pf.file, origin: pf.origin, chain: [pf.file] };
  const cache = valueCache(e);
  const hit = cache && cachedProfile(e, cache, pf);
  if (hit) return hit;
  const { locate, validate, ProfileSchema } = await import("./files.js");
  const { data, sources, files } = await resolveChain(e, pf);
  const merged = { ...(data as Record<string, unknown>), name: (sources[0]?.data as { name?: unknown })?.name };
  const profile = validate(ProfileSchema, merged, sources, "profile");
  for (const issue of checkProfile(profile, pf.name)) throw new ProfileError(locate(sources, issue));
  // A file on disk that could not be stat'ed has no identity to check later: then nothing is stored.
  if (cache && files.every((f) => f.stamp !== undefined || f.pf.origin === "builtin")) {
    writeEntry(cache, "profile", idOf(pf), { files: files.map(({ pf: _pf, ...f }) => f), value: profile });
  }
  return { profile, file: pf.file, origin: pf.origin, chain: sources.map((s) => s.file) };
}

/** Names of every profile on the search path, without repeats. */
export function knownNames(e: Env): string[] {
  return [...new Set(profileFiles(e).map((p) => p.name))].sort();
}

/** Load the profile called `name` from the search path. */
export async function loadProfile(e: Env, name: string): Promise<LoadedProfile> {
  const pf = find(e, parseName(name, "cluster"));
  if (!pf) {
    const where = `add ${join(configDir(e), "clusters", `${name}.yaml`)} (start from: hpcjob clusters show custom) or set HPCJOB_CLUSTERS`;
    throw new ProfileError(`unknown cluster "${name}"; known clusters: ${knownNames(e).join(", ")}; to add one, ${where}`);
  }
  return loadProfileFile(e, pf);
}

/**
 * Load a profile from a file path (`clusters validate`). Its own folder is
 * searched first for what it extends, as when that folder is on
 * HPCJOB_CLUSTERS: a group's profile repository can be checked as it is.
 */
export async function loadProfilePath(e: Env, path: string): Promise<LoadedProfile> {
  const file = resolve(path);
  const dir = dirname(file);
  const onPath = searchPath(e).some((sd) => sd.dir === dir);
  const env = onPath ? e : { ...e, env: { ...e.env, HPCJOB_CLUSTERS: [dir, e.env.HPCJOB_CLUSTERS].filter(Boolean).join(":") } };
  const dirs = searchPath(env);
  const rank = dirs.findIndex((sd) => sd.dir === dir);
  const pf = diskProfile(file, path, dirs[rank]?.origin ?? "user", rank, "give the path of a profile .yaml file");
  return loadProfileFile(env, pf);
}
