/**
 * `hpcjob clusters list | show | validate | schema`: what each cluster
 * offers, and exactly what is wrong with a profile.
 */
import { readdirSync, statSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { isHpcjobError, ProfileError } from "../core/errors.js";
import { parseName } from "../core/values.js";
import { isProfileFileName, type LoadedProfile, loadProfile, loadProfileFile, loadProfilePath, profileFiles } from "../profile/load.js";
import type { Profile } from "../profile/schema.js";
import { unreadable } from "../profile/userFile.js";
import { noteSearchPath } from "../request/sources.js";
import type { Context, Done } from "./context.js";

function gpuTypes(p: Profile): string {
  const types = new Set(p.slurm.partitions.flatMap((q) => q.gpus.map((g) => g.type)));
  return [...types].join(",") || "-";
}

function originLabel(l: { origin: string; file: string }): string {
  return l.origin === "builtin" ? "built-in" : l.file;
}

/** One profile on the search path as `clusters list` gives it; `error` when it does not load. */
export interface ClusterRow {
  name: string;
  title: string;
  runtime: string;
  gpus: string;
  source: string;
  error?: string;
}

/** Every profile on the search path, the first of each name, with what it offers. */
export async function list(ctx: Context): Promise<Done<ClusterRow[]>> {
  // A bad folder on the search path is reported on stderr; the profiles in the others are still listed.
  noteSearchPath(ctx);
  const seen = new Set<string>();
  const rows: ClusterRow[] = [];
  for (const pf of profileFiles(ctx)) {
    if (seen.has(pf.name)) continue;
    seen.add(pf.name);
    try {
      const l = await loadProfileFile(ctx, pf);
      rows.push({
        name: pf.name,
        title: l.profile.title,
        runtime: l.profile.container.runtime,
        gpus: gpuTypes(l.profile),
        source: originLabel(l),
      });
    } catch (e) {
      if (!isHpcjobError(e)) throw e;
      rows.push({
        name: pf.name,
        title: "",
        runtime: "?",
        gpus: "?",
        source: pf.origin === "builtin" ? "built-in" : pf.file,
        error: e.message,
      });
    }
  }
  return { data: rows };
}

/** A profile as `clusters show` gives it: the file as written (--raw), or loaded (and as YAML with --yaml). */
export type ShownProfile = { raw: string } | (LoadedProfile & { yaml?: string });

/** One profile, resolved; with --yaml also as YAML; with --raw the file as written (even when it does not load). */
export async function show(name: string, flags: { yaml?: boolean; raw?: boolean }, ctx: Context): Promise<Done<ShownProfile>> {
  parseName(name, "cluster");
  noteSearchPath(ctx);
  if (flags.raw) {
    const pf = profileFiles(ctx).find((p) => p.name === name);
    if (pf) return { data: { raw: pf.read() } };
  }
  const l = await loadProfile(ctx, name);
  if (flags.yaml) return { data: { ...l, yaml: (await import("../profile/files.js")).toYaml(l.profile) } };
  return { data: l };
}

/** A profile file that holds: its name, runtime and partitions. */
export interface ValidProfile {
  file: string;
  name: string;
  runtime: string;
  partitions: number;
}

/** One profile file's check: schema, extends, cross-field rules. */
async function checkFile(file: string, ctx: Context): Promise<ValidProfile> {
  const p = (await loadProfilePath(ctx, file)).profile;
  return { file, name: p.name, runtime: p.container.runtime, partitions: p.slurm.partitions.length };
}

/** "1 profile", "3 profiles". */
function profiles(n: number): string {
  return `${n} profile${n === 1 ? "" : "s"}`;
}

/**
 * Check a profile file, or every profile in a folder (what a group's shared
 * profile repository runs in CI): exit 0 when all hold, else exit 2 with one
 * line per broken file.
 */
/** What `clusters validate` found: one file, or every file of a folder, all valid (a broken one is an error). */
export type Validated = { file: ValidProfile } | { dir: string; files: ValidProfile[] };

export async function validate(target: string, ctx: Context): Promise<Done<Validated>> {
  noteSearchPath(ctx);
  let isDir: boolean;
  try {
    const st = statSync(target);
    if (!st.isFile() && !st.isDirectory()) {
      throw new ProfileError(`${target} is neither a file nor a folder; give a profile .yaml file or a folder of them`);
    }
    isDir = st.isDirectory();
  } catch (e) {
    if (isHpcjobError(e)) throw e;
    const why = unreadable(target, e) ?? `${target} cannot be read (${(e as Error).message})`;
    throw new ProfileError(`${why}; give a profile .yaml file or a folder of them`);
  }
  if (!isDir) return { data: { file: await checkFile(target, ctx) } };
  const files = readdirSync(target).filter(isProfileFileName).sort();
  if (files.length === 0) throw new ProfileError(`${target} has no .yaml or .yml files; give a folder of profiles or a profile file`);
  const ok: ValidProfile[] = [];
  const broken: string[] = [];
  const byName = new Map<string, string>();
  for (const f of files) {
    const file = join(target, f);
    const name = basename(f, extname(f));
    const twin = byName.get(name);
    byName.set(name, file);
    if (twin) {
      broken.push(`${file}:1 name: ${twin} is also profile ${name}, and only one of them is used; keep one`);
      continue;
    }
    try {
      ok.push(await checkFile(file, ctx));
    } catch (e) {
      if (!isHpcjobError(e)) throw e;
      broken.push(e.message);
    }
  }
  if (broken.length > 0) {
    throw new ProfileError(
      `${broken.length} of ${profiles(files.length)} in ${target} ${broken.length === 1 ? "is" : "are"} broken; fix each line below and run hpcjob clusters validate again`,
      broken,
    );
  }
  return { data: { dir: target, files: ok } };
}

/** `clusters schema`: the JSON Schema of profiles. */
export async function schema(): Promise<Done<Record<string, unknown>>> {
  const { profileJsonSchema } = await import("../profile/files.js");
  return { data: profileJsonSchema() };
}
