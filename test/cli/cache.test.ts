/**
 * The path most users take, with the built CLI: a ~/.config/hpcjob/config.yaml
 * and a project hpcjob.yaml. The first run validates them with YAML and zod
 * and keeps the values in the cache of validated files; later runs take them
 * from there without loading the files chunk, and see every change to the
 * files as the first run would.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type CliResult, ROOT, runCli, tempDir, writeFiles } from "../helpers.js";

const CONFIG = "cluster: vera\naccount: C3SE2024-1-2\n";
const PROJECT = `image: /cephyr/users/alice/Vera/pytorch.sif
binds:
  - /mimer/NOBACKUP/groups/alice-lab
env:
  OMP_NUM_THREADS: "8"
resources:
  gpus: A40:1
  time: "04:00:00"
sbatch:
  - --constraint=MEM512
`;
const STAMP = /\d{8}-\d{6}/g;

/** A user with config.yaml in their home and a project with hpcjob.yaml. */
function realisticUser(project = PROJECT, config = CONFIG) {
  const home = tempDir("hpcjob-home-");
  const configDir = join(home, ".config", "hpcjob");
  mkdirSync(configDir, { recursive: true });
  writeFileSync(join(configDir, "config.yaml"), config);
  const cwd = writeFiles(tempDir("hpcjob-project-"), { "hpcjob.yaml": project });
  const files = { config: join(configDir, "config.yaml"), project: join(cwd, "hpcjob.yaml") };
  settle(files.config, files.project);
  return { home, cwd, ...files, cache: join(home, ".cache", "hpcjob") };
}

type User = ReturnType<typeof realisticUser>;

/** `hpcjob jupyter --dry-run` as the user, from their project. */
function dryRun(user: User, env: Record<string, string> = {}): CliResult {
  return runCli(["jupyter", "--dry-run"], { home: user.home, cwd: user.cwd, env });
}

/** A dry run through the bundle without the launcher, the chunks (dist/NAME.cjs) it loaded and the Node built-ins it loaded. */
function chunksLoaded(user: User, env: Record<string, string> = {}): { result: CliResult; chunks: string[]; builtins: string[] } {
  const out = join(tempDir(), "chunks.json");
  const preload = join(ROOT, "test", "fixtures", "preload", "chunks-loaded.cjs");
  const r = spawnSync(process.execPath, ["-r", preload, join(ROOT, "dist", "hpcjob.cjs"), "jupyter", "--dry-run"], {
    cwd: user.cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: user.home, HPCJOB_TEST_CHUNKS_OUT: out, ...env },
    encoding: "utf8",
  });
  const loaded = JSON.parse(readFileSync(out, "utf8"));
  return { result: { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }, ...loaded };
}

/** A time whole to the second, which utimes sets exactly (it takes seconds as a double). */
const WHOLE_SECOND = 1_700_000_000;

/** Give files the same whole-second atime and mtime, so an edit can put them back exactly. */
function settle(...files: string[]): void {
  for (const f of files) utimesSync(f, WHOLE_SECOND, WHOLE_SECOND);
}

/** Rewrite a settled file with text of the same length and put its mtime back, as an edit within one tick of a coarse clock looks. */
function sameSizeEdit(file: string, from: string, to: string): void {
  expect(to).toHaveLength(from.length);
  const before = statSync(file, { bigint: true });
  const text = readFileSync(file, "utf8");
  expect(text).toContain(from);
  writeFileSync(file, text.replace(from, to));
  settle(file);
  const after = statSync(file, { bigint: true });
  expect([after.size, after.mtimeNs]).toEqual([before.size, before.mtimeNs]);
}

const script = (r: CliResult) => r.stdout.replace(STAMP, "STAMP");

describe("the cache of validated files, through the CLI", () => {
  it("gives the script the files give, from a private cache, and spares the files chunk (yaml and zod) once filled", () => {
    const user = realisticUser();
    const first = chunksLoaded(user);
    expect(first.result.stderr).toBe("");
    expect(first.result.status).toBe(0);
    expect(first.chunks).toEqual(["commands", "files", "hpcjob"]);
    expect(first.result.stdout).toContain("#SBATCH --constraint=MEM512\n");
    expect(first.result.stdout).toContain("export OMP_NUM_THREADS=8\n");

    const again = chunksLoaded(user);
    expect(again.chunks).toEqual(["commands", "hpcjob"]);
    // Nor Node's slow-to-load modules, which only talking to a cluster needs: streams are a tenth of a dry run's start-up.
    const slow = ["stream", "child_process", "crypto", "net", "readline", "os", "fs/promises"];
    expect(again.builtins.filter((m) => slow.includes(m) || m.startsWith("internal/streams/"))).toEqual([]);
    expect(script(again.result)).toBe(script(first.result));
    // The launcher (bin/hpcjob.cjs) prints the same, from the cache and from a cache of its own.
    expect(script(dryRun(user))).toBe(script(first.result));
    expect(script(dryRun(user, { XDG_CACHE_HOME: join(tempDir(), "elsewhere") }))).toBe(script(first.result));

    expect(statSync(user.cache).mode & 0o777).toBe(0o700);
    const entries = readdirSync(user.cache).sort();
    expect(entries).toEqual([expect.stringMatching(/^config-\w+\.json$/), expect.stringMatching(/^project-\w+\.json$/)]);
    for (const f of entries) expect(statSync(join(user.cache, f)).mode & 0o777).toBe(0o600);
  });

  it("bundles yaml and zod into the files chunk only: the chunks a dry run reads hold no copy of them", () => {
    for (const chunk of ["hpcjob", "commands"]) {
      const text = readFileSync(join(ROOT, "dist", `${chunk}.cjs`), "utf8");
      expect(text.match(/"node_modules\/(zod|yaml)\/[^"]*"/g) ?? [], `${chunk}.cjs`).toEqual([]);
    }
    expect(readFileSync(join(ROOT, "dist", "files.cjs"), "utf8").includes('"node_modules/yaml/dist/index.js"')).toBe(true);
  });

  it("sees an edit of hpcjob.yaml or config.yaml that keeps the size and the mtime", () => {
    const user = realisticUser();
    expect(dryRun(user).stdout).toContain("#SBATCH --account=C3SE2024-1-2\n");
    sameSizeEdit(user.project, "pytorch.sif", "tfkeras.sif");
    sameSizeEdit(user.config, "C3SE2024-1-2", "C3SE2024-9-9");
    const r = dryRun(user);
    expect(r.stdout).toContain("/cephyr/users/alice/Vera/tfkeras.sif");
    expect(r.stdout).not.toContain("pytorch.sif");
    expect(r.stdout).toContain("#SBATCH --account=C3SE2024-9-9\n");
  });

  it("reports a file made invalid after it was cached at its line, every time", () => {
    const user = realisticUser();
    expect(dryRun(user).status).toBe(0);
    sameSizeEdit(user.project, "gpus: A40:1", "gpus: A40:x");
    for (let i = 0; i < 2; i++) {
      const r = dryRun(user);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^hpcjob: ${user.project}:7 resources\\.gpus: "A40:x" `));
    }
  });

  it("names a key's line in hpcjob.yaml the same from the cache as from the file", () => {
    const user = realisticUser(PROJECT.replace('time: "04:00:00"', 'time: "9-00:00:00"'));
    const first = dryRun(user);
    expect(first.status).toBe(2);
    expect(first.stderr).toContain(`${user.project}:8 resources.time: "9-00:00:00" is longer than partition vera allows`);
    const again = dryRun(user);
    expect(again.stderr).toBe(first.stderr);
    expect(again.status).toBe(2);
  });

  it("ignores a corrupt entry and writes it anew", () => {
    const user = realisticUser();
    const first = dryRun(user);
    for (const f of readdirSync(user.cache)) writeFileSync(join(user.cache, f), '{"hpcjob": "half a fi');
    const r = dryRun(user);
    expect(r.stderr).toBe("");
    expect(script(r)).toBe(script(first));
    for (const f of readdirSync(user.cache)) expect(() => JSON.parse(readFileSync(join(user.cache, f), "utf8"))).not.toThrow();
  });

  it("follows a profile's extends chain: a change to any file of it, or a profile that now comes first, is seen", () => {
    const base = (module: string) =>
      `name: base\nslurm:\n  partition: gpu\n  partitions: [{name: gpu, maxTime: "1-00:00:00", gpus: [{type: A40, perNode: 4}]}]\ncontainer: {runtime: apptainer}\nenvironment: {modules: [${module}]}\n`;
    const sites = writeFiles(tempDir(), { "base.yaml": base("first/1.0"), "mine.yaml": "name: mine\nextends: base\ntitle: Mine\n" });
    settle(join(sites, "base.yaml"), join(sites, "mine.yaml"));
    const user = realisticUser(PROJECT.replace("sbatch:\n  - --constraint=MEM512\n", ""), "cluster: mine\n");
    const env = { HPCJOB_CLUSTERS: sites };
    expect(dryRun(user, env).stdout).toContain("module load first/1.0 ");
    const cached = chunksLoaded(user, env);
    expect(cached.chunks).toEqual(["commands", "hpcjob"]);
    expect(cached.result.stdout).toContain("module load first/1.0 ");

    sameSizeEdit(join(sites, "base.yaml"), "first/1.0", "other/2.0");
    expect(dryRun(user, env).stdout).toContain("module load other/2.0 ");

    const before = writeFiles(tempDir(), { "base.yaml": base("front/3.0") });
    expect(dryRun(user, { HPCJOB_CLUSTERS: `${before}:${sites}` }).stdout).toContain("module load front/3.0 ");
    expect(dryRun(user, env).stdout).toContain("module load other/2.0 ");
  });
});
