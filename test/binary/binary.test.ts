/**
 * The single executable (dist/hpcjob-linux-x64, made by build/sea.mjs) on a
 * machine without Node.js: a Debian bullseye root (glibc 2.31) made with
 * debootstrap and kept in /var/cache/hpcjob-bullseye-root (or
 * $HPCJOB_BULLSEYE_ROOT) for later runs. Each command runs there with chroot
 * and must print what `node bin/hpcjob.cjs` prints on this machine.
 *
 * Needs root, debootstrap (bash test/binary/install-tools.sh) and, the first
 * time, the Debian mirror apt uses here. Fails, never skips, without them.
 * The executable is rebuilt when missing or older than what it is made of.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BUILTIN_CLUSTERS } from "../helpers.js";
import { EXE, EXE_NAME, ensureExecutable } from "./executable.js";

const ROOT = join(import.meta.dirname, "..", "..");
const CHROOT = process.env.HPCJOB_BULLSEYE_ROOT ?? "/var/cache/hpcjob-bullseye-root";
/** Written last into a finished root; a root without it is not used. */
const COMPLETE = ".hpcjob-root-complete";
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/**
 * PATH for hpcjob itself, here and in the root: no folder, so no `sbatch`, so
 * hpcjob sees a computer without Slurm in both places (a laptop) and says the
 * same things, even where the loopback test cluster is installed.
 */
const CLI_PATH = "/nonexistent-hpcjob-test-path";
/** HOME and working directory, the same path on this machine and in the root, so both print the same script. */
const HOME = `/tmp/hpcjob-binary-test-${process.pid}`;
const STAMP = /\d{8}-\d{6}/g;

const VERA = ["--cluster", "vera", "--gpus", "1", "--account", "C3SE2024-1-2", "--image", "/cephyr/x.sif"];
const PENN = ["--cluster", "penn", "--gpus", "1", "--account", "lab", "--image", "/abs/img.sqsh"];
const DRY_RUNS: Record<string, string[]> = {
  "vera jupyter": ["jupyter", ...VERA, "--dry-run"],
  "vera batch": ["batch", ...VERA, "--dry-run", "train.py", "--epochs", "3"],
  "penn jupyter": ["jupyter", ...PENN, "--dry-run"],
  "penn batch": ["batch", ...PENN, "--dry-run", "train.py", "--epochs", "3"],
};

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { env?: Record<string, string>; cwd?: string; timeout?: number } = {}): Result {
  const r = spawnSync(cmd, args, { encoding: "utf8", env: opts.env ?? { PATH }, cwd: opts.cwd, timeout: opts.timeout ?? 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The executable in the bullseye root, with only PATH (CLI_PATH), HOME and `env` set, run from HOME. */
function inRoot(args: string[], env: Record<string, string> = {}): Result {
  return run("chroot", [
    CHROOT,
    "/usr/bin/env",
    "-i",
    `--chdir=${HOME}`,
    `PATH=${CLI_PATH}`,
    `HOME=${HOME}`,
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    `/${EXE_NAME}`,
    ...args,
  ]);
}

/** The same command under node on this machine. */
function onHost(args: string[]): Result {
  return run(process.execPath, [join(ROOT, "bin", "hpcjob.cjs"), ...args], { env: { PATH: CLI_PATH, HOME }, cwd: HOME });
}

/** The launcher's HPCJOB_SEA_CODE_CACHE_REPORT line: stderr's last line. */
function cacheReport(stderr: string): unknown {
  return JSON.parse(stderr.trimEnd().split("\n").pop() ?? "");
}

/** The Debian mirror apt uses here (deb822 .sources or one-line .list), else deb.debian.org. */
function debianMirror(): string {
  if (process.env.HPCJOB_DEBIAN_MIRROR) return process.env.HPCJOB_DEBIAN_MIRROR;
  const dir = "/etc/apt/sources.list.d";
  const files = ["/etc/apt/sources.list", ...(existsSync(dir) ? readdirSync(dir).map((f) => join(dir, f)) : [])];
  const uris: string[] = [];
  for (const file of files.filter((f) => existsSync(f))) {
    const text = readFileSync(file, "utf8");
    if (file.endsWith(".sources")) {
      for (const para of text.split(/\n\s*\n/)) {
        if (/^Enabled:\s*no/im.test(para) || !/^Types:.*\bdeb\b/im.test(para)) continue;
        uris.push(...(para.match(/^URIs:\s*(.+)$/im)?.[1]?.split(/\s+/) ?? []));
      }
    } else if (file.endsWith(".list")) {
      for (const m of text.matchAll(/^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)/gm)) if (m[1]) uris.push(m[1]);
    }
  }
  return uris.find((u) => /^https?:\/\/.*\/debian\/?$/.test(u)) ?? "http://deb.debian.org/debian";
}

/** The bullseye root: reused when complete, else made with debootstrap (about a minute) and renamed into place. */
function ensureRoot(): void {
  if (existsSync(join(CHROOT, COMPLETE))) return;
  if (process.getuid?.() !== 0) throw new Error("test/binary needs root (chroot and debootstrap)");
  const debootstrap = run("sh", ["-c", "command -v debootstrap"]);
  if (debootstrap.status !== 0) throw new Error("debootstrap is not installed: bash test/binary/install-tools.sh");
  const partial = `${CHROOT}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  const mirror = debianMirror();
  const r = run(debootstrap.stdout.trim(), ["--variant=minbase", "bullseye", partial, mirror], { timeout: 540_000 });
  if (r.status !== 0) {
    rmSync(partial, { recursive: true, force: true });
    throw new Error(
      `debootstrap --variant=minbase bullseye ${partial} ${mirror} failed (${r.status}):\n${(r.stdout + r.stderr).slice(-3000)}`,
    );
  }
  writeFileSync(join(partial, COMPLETE), `debootstrap --variant=minbase bullseye ${mirror}\n`);
  rmSync(CHROOT, { recursive: true, force: true }); // an incomplete one from an interrupted run
  renameSync(partial, CHROOT);
}

/** Why the executable or the root could not be made; every test then fails with it (none is skipped). */
let setupError: unknown;

beforeAll(() => {
  try {
    setup();
  } catch (err) {
    setupError = err;
  }
}, 900_000);

beforeEach(() => {
  if (setupError) throw setupError;
});

function setup(): void {
  ensureExecutable();
  ensureRoot();
  const inside = join(CHROOT, `${EXE_NAME}.partial-${process.pid}`);
  copyFileSync(EXE, inside);
  renameSync(inside, join(CHROOT, EXE_NAME));
  for (const dir of [HOME, join(CHROOT, HOME)]) mkdirSync(dir, { recursive: true });
}

afterAll(() => {
  for (const dir of [HOME, join(CHROOT, HOME)]) rmSync(dir, { recursive: true, force: true });
  rmSync(join(CHROOT, EXE_NAME), { force: true });
});

describe("the bullseye root", () => {
  it("has no Node.js and an older glibc than this machine", () => {
    expect(run("chroot", [CHROOT, "sh", "-c", "command -v node nodejs"]).status).not.toBe(0);
    expect(run("chroot", [CHROOT, "getconf", "GNU_LIBC_VERSION"]).stdout.trim()).toBe("glibc 2.31");
  });
});

describe("the single executable", () => {
  it("comes with its sha256sum line", () => {
    const hash = createHash("sha256").update(readFileSync(EXE)).digest("hex");
    expect(readFileSync(`${EXE}.sha256`, "utf8")).toBe(`${hash}  ${EXE_NAME}\n`);
    expect(run("sha256sum", ["-c", `${EXE_NAME}.sha256`], { cwd: join(ROOT, "dist") }).status).toBe(0);
  });

  it("--version prints the version and commit, as under node", () => {
    const r = inRoot(["--version"]);
    expect(r).toMatchObject({ status: 0, stderr: "" });
    expect(r.stdout).toMatch(/^hpcjob \d+\.\d+\.\d+\S* \(commit (?:[0-9a-f]{12}(?:-dirty)?|unknown)\)\n$/);
    expect(r.stdout).toBe(onHost(["--version"]).stdout);
  });

  it("--help works with no config", () => {
    const r = inRoot(["--help"]);
    expect(r).toMatchObject({ status: 0, stderr: "" });
    expect(r.stdout).toMatch(/^Usage: hpcjob /);
    expect(r.stdout).toBe(onHost(["--help"]).stdout);
  });

  it("clusters list and clusters show --raw read the embedded profiles", () => {
    const list = inRoot(["clusters", "list"]);
    expect(list).toMatchObject({ status: 0, stderr: "" });
    for (const name of BUILTIN_CLUSTERS) expect(list.stdout).toMatch(new RegExp(`^${name} .*built-in`, "m"));
    expect(list.stdout).toBe(onHost(["clusters", "list"]).stdout);
    for (const name of BUILTIN_CLUSTERS) {
      const raw = inRoot(["clusters", "show", name, "--raw"]);
      expect(raw).toMatchObject({ status: 0, stderr: "" });
      expect(raw.stdout).toBe(readFileSync(join(ROOT, "clusters", `${name}.yaml`), "utf8"));
    }
  });

  for (const [what, args] of Object.entries(DRY_RUNS)) {
    it(`${what} --dry-run prints what node prints`, () => {
      const r = inRoot(args);
      const host = onHost(args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^#!\/bin\/bash\n#SBATCH /);
      expect(r.stdout.replace(STAMP, "STAMP")).toBe(host.stdout.replace(STAMP, "STAMP"));
      expect(r.stderr).toBe(host.stderr);
    });
  }

  it("reads a user's config.yaml (the yaml and zod chunk) and uses every code cache", () => {
    const config = "cluster: penn\naccount: lab\n";
    for (const home of [HOME, join(CHROOT, HOME)]) {
      mkdirSync(join(home, ".config", "hpcjob"), { recursive: true });
      writeFileSync(join(home, ".config", "hpcjob", "config.yaml"), config);
    }
    try {
      const args = ["batch", "--gpus", "1", "--image", "/abs/img.sqsh", "--dry-run", "train.py"];
      const r = inRoot(args, { HPCJOB_SEA_CODE_CACHE_REPORT: "1" });
      expect(r.status).toBe(0);
      expect(cacheReport(r.stderr)).toEqual({ hpcjob: "accepted", commands: "accepted", files: "accepted" });
      expect(r.stdout).toContain("--container-image=/abs/img.sqsh");
      const host = onHost(args);
      expect(r.stdout.replace(STAMP, "STAMP")).toBe(host.stdout.replace(STAMP, "STAMP"));
      expect(r.stderr.replace(/.*\n$/, "")).toBe(host.stderr);
    } finally {
      for (const home of [HOME, join(CHROOT, HOME)]) rmSync(join(home, ".config"), { recursive: true, force: true });
    }
  });

  it("bad input ends with exit 2 and one line, as under node", () => {
    const r = inRoot(["jupyter", "--cluster", "nope", "--dry-run"]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^hpcjob: unknown cluster "nope"[^\n]*\n$/);
    expect(r.stderr).toBe(onHost(["jupyter", "--cluster", "nope", "--dry-run"]).stderr);
  });

  it("ignores the user's NODE_OPTIONS, which would break node", () => {
    for (const options of ["--require=/nonexistent.js", "--require /nonexistent.js --max-old-space-size=8", "--no-such-option"]) {
      const r = inRoot(["--version"], { NODE_OPTIONS: options });
      expect(r, options).toMatchObject({ status: 0, stderr: "" });
      expect(r.stdout).toMatch(/^hpcjob /);
    }
    const dry = inRoot(DRY_RUNS["vera jupyter"] ?? [], { NODE_OPTIONS: "--require=/nonexistent.js", HPCJOB_SEA_CODE_CACHE_REPORT: "1" });
    expect(dry.status).toBe(0);
    expect(cacheReport(dry.stderr)).toEqual({ hpcjob: "accepted", commands: "accepted" });
    // Under node the same variable is fatal, so the test above means something.
    const node = run(process.execPath, ["-e", "0"], { env: { PATH, NODE_OPTIONS: "--require=/nonexistent.js" } });
    expect(node.status).not.toBe(0);
  });
});
