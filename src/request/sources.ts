/**
 * The per-user config (~/.config/hpcjob/config.yaml) and a project's
 * hpcjob.yaml: optional files, read and validated with line numbers. YAML
 * and zod are imported only when such a file exists.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { configDir, type Env, loadProfile } from "../profile/load.js";
import type { Profile, ProjectFile, UserConfig } from "../profile/schema.js";

/** The user config file's path. */
export function userConfigPath(e: Env): string {
  return join(configDir(e), "config.yaml");
}

/** The user config, or an empty one when the file does not exist. */
export async function loadUserConfig(e: Env): Promise<UserConfig> {
  const file = userConfigPath(e);
  if (!existsSync(file)) return { clusters: {} };
  const { parseYaml, validate, UserConfigSchema } = await import("../profile/files.js");
  const src = parseYaml(file, readFileSync(file, "utf8"));
  return validate(UserConfigSchema, src.data, [src], "config.yaml");
}

/** The project file `hpcjob.yaml` in `dir`, or undefined when there is none. */
export async function loadProjectFile(dir: string): Promise<{ file: string; project: ProjectFile } | undefined> {
  const file = join(dir, "hpcjob.yaml");
  if (!existsSync(file)) return undefined;
  const { parseYaml, validate, ProjectFileSchema } = await import("../profile/files.js");
  const src = parseYaml(file, readFileSync(file, "utf8"));
  return { file, project: validate(ProjectFileSchema, src.data, [src], "hpcjob.yaml") };
}

/** The profile of `cluster` (a --cluster flag), else of the user's default cluster; undefined when neither is set. */
export async function clusterProfile(e: Env, cluster?: string): Promise<Profile | undefined> {
  const name = cluster ?? (await loadUserConfig(e)).cluster;
  return name ? (await loadProfile(e, name)).profile : undefined;
}
