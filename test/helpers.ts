/**
 * Helpers shared by the test suites: running the built CLI as a user would,
 * and building requests from source with fixed inputs.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LoadedProfile, loadProfile } from "../src/profile/load.js";
import { atSite, buildRequest, type Payload, type RequestFlags } from "../src/request/build.js";
import type { SitedRequest } from "../src/request/job.js";

/** The repository root. */
export const ROOT = join(import.meta.dirname, "..");
/** The built CLI launcher (npm run build makes dist/ first). */
export const CLI = join(ROOT, "bin", "hpcjob.cjs");
/** The profile names in a folder of profiles: NAME for each NAME.yaml or NAME.yml, sorted as hpcjob sorts them. */
function profileNames(dir: string): string[] {
  const names = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => f.replace(/\.ya?ml$/, ""));
  return [...new Set(names)].sort();
}

/** Every built-in profile: one per file in clusters/, so a new one is tested without being listed here. */
export const BUILTIN_CLUSTERS = profileNames(join(ROOT, "clusters"));
/** The test profiles test/fixtures/clusters/rt-*.yaml, one for each container runtime the built-ins may not use. */
export const RUNTIME_FIXTURES = profileNames(join(ROOT, "test", "fixtures", "clusters")).filter((n) => n.startsWith("rt-"));
/** How messages list the built-in profiles: "custom, penn, vera". */
export const BUILTIN_LIST = BUILTIN_CLUSTERS.join(", ");

/** Stand-ins for container runtimes, put first on PATH by tests that run scripts. */
export const STANDINS = join(ROOT, "test", "standins");

/** What a CLI run printed and how it ended. */
export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** A fresh empty folder for one test. */
export function tempDir(prefix = "hpcjob-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Run the built CLI with a clean environment: a temp HOME unless one is given. */
export function runCli(args: string[], opts: { env?: Record<string, string>; cwd?: string; home?: string } = {}): CliResult {
  const home = opts.home ?? tempDir("hpcjob-home-");
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: opts.cwd ?? home,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, ...opts.env },
    encoding: "utf8",
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Write files (path -> text) under `dir`, returning `dir`. */
export function writeFiles(dir: string, files: Record<string, string>): string {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** Environment with no user files and no HPCJOB_CLUSTERS: built-in profiles only. */
export const BUILTIN_ONLY = { env: {}, home: "/nonexistent-home" };

/** A built-in profile loaded from source. */
export function builtin(name: string): Promise<LoadedProfile> {
  return loadProfile(BUILTIN_ONLY, name);
}

/** A request for `loaded` from flags, as the CLI would build it on a login node (at `cwd`) with no user or project file. */
export function requestFor(loaded: LoadedProfile, flags: RequestFlags, payload: Payload, cwd = "/home/alice/project"): SitedRequest {
  return atSite(buildRequest({ flags, user: { clusters: {} }, payload, loaded, workdir: cwd }), cwd);
}
