/**
 * The per-user config (~/.config/hpcjob/config.yaml) and a project's
 * hpcjob.yaml: optional files, read and validated with line numbers. YAML
 * and zod are imported only when such a file exists and the cache of
 * validated files (profile/cache.ts) does not already hold it as it is.
 */
import { join } from "node:path";
import type { Reporter } from "../core/events.js";
import { parseName } from "../core/values.js";
import { validatedOnce } from "../profile/cache.js";
import { configDir, type Env, loadProfile, searchPathProblems } from "../profile/load.js";
import { placeIn } from "../profile/places.js";
import type { Profile, SweepSpec, UserConfig } from "../profile/schema.js";
import { readUserFile } from "../profile/userFile.js";
import type { ProjectSource } from "./build.js";

/** The user config file's path. */
export function userConfigPath(e: Env): string {
  return join(configDir(e), "config.yaml");
}

/** The user config, or an empty one when the file does not exist. */
export async function loadUserConfig(e: Env): Promise<UserConfig> {
  const file = userConfigPath(e);
  const text = readUserFile(file, "hpcjob reads your settings from a YAML file there; move it away or make it one", true);
  if (text === undefined) return { clusters: {} };
  return validatedOnce(e, "config", file, text, async () => {
    const { parseYaml, validate, UserConfigSchema } = await import("../profile/files.js");
    const src = parseYaml(file, text);
    return validate(UserConfigSchema, src.data, [src], "config.yaml");
  });
}

/** The project file `hpcjob.yaml` in `dir`, or undefined when there is none. */
export async function loadProjectFile(e: Env, dir: string): Promise<ProjectSource | undefined> {
  const file = join(dir, "hpcjob.yaml");
  const text = readUserFile(file, "hpcjob reads the project's settings from a YAML file there; rename the folder or make it one", true);
  if (text === undefined) return undefined;
  // The line of every key comes with the value, so messages about it name the same place from the cache.
  const { project, lines } = await validatedOnce(e, "project", file, text, async () => {
    const { lineMap, parseYaml, validate, ProjectFileSchema } = await import("../profile/files.js");
    const src = parseYaml(file, text);
    const data = src.data as Record<string, unknown>;
    // A sweep's values are text as written (1e-3, 007): read that key again with every scalar as text.
    if (data !== null && typeof data === "object" && Object.hasOwn(data, "sweep")) {
      data.sweep = (parseYaml(file, text, true).data as Record<string, unknown>).sweep;
    }
    return { project: validate(ProjectFileSchema, data, [src], "hpcjob.yaml"), lines: lineMap(src) };
  });
  return { file, project, where: (path) => placeIn(file, lines, path) };
}

/** The sweep in a `--sweep-file` (a grid or a list of points, as hpcjob.yaml's `sweep:`), validated with file:line errors. */
export async function loadSweepFile(path: string): Promise<SweepSpec> {
  const text = readUserFile(path, "give --sweep-file a YAML file of NAME: [values] or of a list of points") as string;
  const { parseYaml, validate, SweepSchema } = await import("../profile/files.js");
  const src = parseYaml(path, text, true);
  return validate(SweepSchema, src.data, [src], "a sweep file's");
}

/** The user name on `profile`'s cluster: config.yaml's for that cluster, else its global one, else the profile's login.user. */
export function loginUser(user: UserConfig, profile: Profile | undefined): string | undefined {
  const perCluster = profile && Object.hasOwn(user.clusters, profile.name) ? user.clusters[profile.name]?.user : undefined;
  return perCluster ?? user.user ?? profile?.login.user;
}

/** Report what is wrong with the profile search path (a missing folder in HPCJOB_CLUSTERS ...) as notes; the rest is still used. */
export function noteSearchPath(ctx: Env & { report: Reporter }): void {
  for (const text of searchPathProblems(ctx)) ctx.report({ kind: "note", text });
}

/** The profile of `cluster` (a --cluster flag), else of the user's default cluster (undefined when neither is set), and the user's settings. */
export async function clusterProfile(ctx: Env & { report: Reporter }, cluster?: string): Promise<{ profile?: Profile; user: UserConfig }> {
  const user = await loadUserConfig(ctx);
  const name = cluster === undefined ? user.cluster : parseName(cluster, "--cluster");
  if (!name) return { user };
  noteSearchPath(ctx);
  return { profile: (await loadProfile(ctx, name)).profile, user };
}
