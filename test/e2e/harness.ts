/**
 * Running hpcjob end to end on the loopback cluster (test/cluster/start.sh):
 * as the non-root users alice and bob, from a copy of the built CLI they can
 * read, with the stand-in container runtimes first on PATH.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers.js";

/** The compute node of the loopback cluster. */
export const NODE = "gpu-node1";

/** Fail (never skip) when the loopback cluster is not running, saying how to start it. */
export function requireCluster(): void {
  const r = spawnSync("sinfo", ["-h", "-n", NODE, "-o", "%t"], { encoding: "utf8" });
  const state = r.stdout?.trim() ?? "";
  if (r.status !== 0 || !/^(idle|mix|alloc|comp)/.test(state)) {
    throw new Error(
      `the loopback Slurm cluster is not running (sinfo: ${state || r.stderr?.trim() || r.error}); start it with: bash test/cluster/install.sh && bash test/cluster/start.sh`,
    );
  }
}

let staged: string | undefined;

/**
 * Where the built CLI, stand-ins and test profiles are copied for the test
 * users (the checkout may sit under /root). A fixed place, because the
 * loopback-remote profile puts its stand-ins on the cluster side's PATH.
 */
export const STAGE = "/tmp/hpcjob-e2e";

/** A world-readable copy of the built CLI, stand-ins and test profiles. */
export function stage(): string {
  if (staged) return staged;
  if (!existsSync(join(ROOT, "dist", "hpcjob.cjs"))) throw new Error("run npm run build before the e2e tests");
  const dir = STAGE;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  for (const [from, to] of [
    ["bin", "bin"],
    ["dist", "dist"],
    ["test/standins", "standins"],
    ["test/fixtures/clusters", "clusters"],
    // What the stand-ins' image-recipe link (../cluster/images) points at: the converter stand-ins read it.
    ["test/cluster/images", "cluster/images"],
  ] as const) {
    cpSync(join(ROOT, from), join(dir, to), { recursive: true });
  }
  execFileSync("chmod", ["-R", "a+rX", dir]);
  chmodSync(dir, 0o755);
  staged = dir;
  return dir;
}

/** The manifest of the real test images that test/cluster/images.sh writes. */
const IMAGES_JSON = process.env.HPCJOB_IMAGES_JSON ?? "/var/cache/hpcjob-test-images/images.json";

/**
 * The real test images in a user's ~/images (links to the files
 * test/cluster/images.sh built, which any user may read), and what only the
 * inside of an image has.
 */
export interface TestImages {
  /** Debian + python3 + jupyter-server, as a SIF (Apptainer) and an enroot squashfs (pyxis). */
  sif: string;
  sqsh: string;
  /** The same without Jupyter, for the failure tests. */
  nojupyterSif: string;
  nojupyterSqsh: string;
  /** /etc/hpcjob-test-image, a file that exists in the images only, and its text. */
  markerFile: string;
  markerText: string;
}

/** Where testImages links the images for `user` (known before they are linked). */
export function imagePaths(user = "alice"): Pick<TestImages, "sif" | "sqsh" | "nojupyterSif" | "nojupyterSqsh"> {
  const dir = `/home/${user}/images`;
  return {
    sif: `${dir}/jupyter.sif`,
    nojupyterSif: `${dir}/nojupyter.sif`,
    sqsh: `${dir}/jupyter.sqsh`,
    nojupyterSqsh: `${dir}/nojupyter.sqsh`,
  };
}

/**
 * Link the real images into `user`'s ~/images (see imagePaths) and return
 * them. Fails, saying what to run, when the images have not been built.
 */
export function testImages(user = "alice"): TestImages {
  if (!existsSync(IMAGES_JSON)) {
    throw new Error(`${IMAGES_JSON} is missing: build the real test images with: bash test/cluster/images.sh`);
  }
  const m = JSON.parse(readFileSync(IMAGES_JSON, "utf8")) as {
    marker: { file: string; text: string };
    images: Record<"jupyter" | "nojupyter", { sif: string; enrootSqsh: string }>;
  };
  const to = imagePaths(user);
  const links: [string, string][] = [
    [m.images.jupyter.sif, to.sif],
    [m.images.nojupyter.sif, to.nojupyterSif],
    [m.images.jupyter.enrootSqsh, to.sqsh],
    [m.images.nojupyter.enrootSqsh, to.nojupyterSqsh],
  ];
  const script = ['mkdir -p "$1"', ...links.map(([from, link]) => `ln -sfn '${from}' '${link}'`)].join(" && ");
  const r = spawnSync("runuser", ["-u", user, "--", "bash", "-c", script, "x", `/home/${user}/images`], { cwd: "/", encoding: "utf8" });
  if (r.status !== 0) throw new Error(`could not link the test images into /home/${user}/images: ${r.stderr}`);
  return { ...to, markerFile: m.marker.file, markerText: m.marker.text };
}

/**
 * Jupyter's contents API through a tunnel (`api` is the /api/status URL
 * throughTunnel gives): the text of the file at `path` in the notebook's
 * folder, or the HTTP status when Jupyter cannot read it.
 */
export async function jupyterFile(api: string, token: string, path: string): Promise<string | number> {
  const r = await fetch(`${api.replace(/\/status$/, "")}/contents/${path}?content=1&type=file&format=text&token=${token}`);
  if (r.status !== 200) return r.status;
  return ((await r.json()) as { content: string }).content;
}

/**
 * A link in `folder` (the notebook's folder: where the job starts) to the
 * marker file that exists only inside the test image: dangling on the host,
 * so Jupyter can read it only when it runs inside the image. Returns its name.
 */
export function markerLink(user: string, images: TestImages, folder = workDir(user)): string {
  const name = "image-marker.txt";
  const r = spawnSync(
    "runuser",
    ["-u", user, "--", "bash", "-c", 'mkdir -p "$1" && ln -sfn "$2" "$1/$3"', "x", folder, images.markerFile, name],
    {
      cwd: "/",
    },
  );
  if (r.status !== 0) throw new Error(`could not link ${images.markerFile} into ${folder}`);
  if (existsSync(images.markerFile)) throw new Error(`${images.markerFile} exists on this host: the marker would prove nothing`);
  return name;
}

/** The environment a user's login shell would have, plus the stand-ins and test profiles. */
export function userEnv(user: string, extra: Record<string, string> = {}): Record<string, string> {
  const dir = stage();
  return {
    HOME: `/home/${user}`,
    USER: user,
    LOGNAME: user,
    PATH: `${dir}/standins:/usr/local/bin:/usr/bin:/bin`,
    HPCJOB_CLUSTERS: `${dir}/clusters`,
    LANG: "C.UTF-8",
    ...extra,
  };
}

/** The programs a laptop has; Slurm's are not among them. */
const LAPTOP_TOOLS = ["node", "ssh", "ssh-keygen", "bash", "sh", "env", "cat", "ls", "mkdir", "rm", "sleep", "true", "xdg-open"];

/**
 * The environment of alice's "laptop": the same machine, but no Slurm command
 * on PATH and SLURM_CONF pointing nowhere, so anything that tried to run
 * Slurm locally would fail. `home` is $HOME; hpcjob reads ~/.ssh/config from
 * there only when there is no ssh (`ssh: false`), as ssh itself reads the
 * account's home from the passwd database.
 */
export function laptopEnv(home = "/home/alice", opts: { ssh?: boolean } = {}): Record<string, string> {
  const withSsh = opts.ssh ?? true;
  const bin = join(stage(), withSsh ? "laptop-bin" : "laptop-bin-nossh");
  if (!existsSync(bin)) {
    mkdirSync(bin);
    for (const tool of LAPTOP_TOOLS.filter((t) => withSsh || t !== "ssh")) {
      const r = spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" });
      if (r.status === 0) symlinkSync(r.stdout.trim(), join(bin, tool));
    }
    execFileSync("chmod", ["-R", "a+rX", bin]);
  }
  return { HOME: home, PATH: bin, SLURM_CONF: "/nonexistent/slurm.conf" };
}

/** The loopback login node's sshd log (test/cluster/start.sh). */
export const SSHD_LOG = "/tmp/hpcjob-cluster/sshd.log";

/** Accepted SSH logins of alice so far in an sshd log (the login node's unless named): one per connection hpcjob opens. */
export function aliceLogins(log = SSHD_LOG): number {
  return (readFileSync(log, "utf8").match(/Accepted publickey for alice /g) ?? []).length;
}

/** The ~/.ssh/config entry of alice's laptop for the loopback login node, as a user writes it: the alias the -remote profiles name. */
export const LOGIN_ALIAS = `Host hpcjob-login
  HostName 127.0.0.1
  Port 2222
  User alice
  IdentityFile ~/.ssh/id_ed25519
  IdentitiesOnly yes
`;

/** alice's "laptop" with podman playing its Docker: the environment hpcjob runs in there, and what ends it. */
export interface PodmanLaptop {
  env: Record<string, string>;
  /** Stop podman's pause process (it ignores SIGTERM) and remove the laptop's folders. */
  dispose: () => void;
}

/**
 * A laptop for alice (laptopEnv, the test profiles on HPCJOB_CLUSTERS) whose
 * Docker is rootless podman, in folders of its own under /tmp named after
 * `name`, with the docker-archive tars `archives` loaded into it.
 */
export function podmanLaptop(name: string, archives: string[]): PodmanLaptop {
  const ws = mkdtempSync(`/tmp/hpcjob-${name}-`);
  const bin = join(ws, "bin");
  mkdirSync(bin);
  const base = laptopEnv();
  for (const tool of ["podman", "newuidmap", "newgidmap"]) {
    symlinkSync(
      execFileSync("bash", ["-c", `command -v ${tool}`])
        .toString()
        .trim(),
      join(bin, tool),
    );
  }
  for (const d of ["pod-data", "pod-config", "pod-run"]) mkdirSync(join(ws, d));
  execFileSync("chown", ["-R", "alice:alice", ws]);
  execFileSync("chmod", ["755", ws]);
  execFileSync("chmod", ["700", join(ws, "pod-run")]);
  const env = {
    ...base,
    PATH: `${bin}:${base.PATH}`,
    HPCJOB_CLUSTERS: `${STAGE}/clusters`,
    XDG_DATA_HOME: join(ws, "pod-data"),
    XDG_CONFIG_HOME: join(ws, "pod-config"),
    XDG_RUNTIME_DIR: join(ws, "pod-run"),
  };
  for (const archive of archives) {
    const load = runAs("alice", ["podman", "load", "-q", "-i", archive], { env });
    if (load.status !== 0) throw new Error(`podman load ${archive} failed: ${load.stderr}`);
  }
  const dispose = () => {
    const pause = join(ws, "pod-run", "libpod", "tmp", "pause.pid");
    if (existsSync(pause)) {
      const pid = Number(readFileSync(pause, "utf8"));
      if (pid > 1) spawnSync("kill", ["-KILL", String(pid)]);
    }
    rmSync(ws, { recursive: true, force: true });
  };
  return { env, dispose };
}

/** argv that runs `argv` as `user` with exactly `env`. */
function asUser(user: string, env: Record<string, string>, argv: string[]): string[] {
  return ["runuser", "-u", user, "--", "env", "-i", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv];
}

/** What a finished run printed. */
export interface Finished {
  status: number;
  stdout: string;
  stderr: string;
}

/** A command as `user`, run to the end (shell-free), from the user's work folder. */
export function runAs(user: string, argv: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Finished {
  const [cmd, ...args] = asUser(user, userEnv(user, opts.env), argv);
  const r = spawnSync(cmd as string, args, { cwd: workDir(user), encoding: "utf8", timeout: opts.timeoutMs ?? 120_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** hpcjob as `user`, run to the end. */
export function hpcjob(user: string, args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Finished {
  return runAs(user, hpcjobCli(args), opts);
}

/** A running hpcjob as `user`, with its output collected as it comes. */
export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit status. */
  done: Promise<number>;
  /** The node process itself (the child of runuser), for signals. */
  pid: () => number;
}

/** argv that runs `argv` as `user` with userEnv's environment and `env`, for a runner of its own (hyperfine). */
export function userArgv(user: string, argv: string[], env: Record<string, string> = {}): string[] {
  return asUser(user, userEnv(user, env), argv);
}

/** The argv of hpcjob, as the test users run it. */
export function hpcjobCli(args: string[]): string[] {
  return ["node", `${stage()}/bin/hpcjob.cjs`, ...args];
}

/** Start hpcjob as `user` without waiting for it. */
export function startHpcjob(user: string, args: string[], opts: { env?: Record<string, string> } = {}): Running {
  const [cmd, ...rest] = userArgv(user, hpcjobCli(args), opts.env);
  const child = spawn(cmd as string, rest, { cwd: workDir(user), stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    err += d;
  });
  const done = new Promise<number>((resolve) => child.on("close", (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  const pid = () => {
    const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, "utf8").trim().split(/\s+/);
    return Number(kids[0]);
  };
  return { child, stdout: () => out, stderr: () => err, done, pid };
}

/** The user's folder where jobs are started from (and batch scripts live). */
export function workDir(user: string): string {
  return `/home/${user}/work`;
}

/** Wait until `check` is true, polling; throws with `what` after `ms`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 60_000, every = 250): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

/**
 * Run a printed tunnel command (`ssh -N -L ...`) as `user` until Jupyter
 * answers through it on 127.0.0.1:`port` with `token`, then `use` it; the
 * tunnel is closed afterwards.
 */
export async function throughTunnel(
  user: string,
  command: string,
  port: number,
  token: string,
  use?: (api: string) => Promise<void>,
): Promise<void> {
  const tunnel = spawn("runuser", ["-u", user, "--", "bash", "-c", `exec ${command}`], { stdio: "ignore" });
  try {
    const api = `http://127.0.0.1:${port}/api/status`;
    await until(
      "the printed tunnel to answer",
      async () => (await fetch(`${api}?token=${token}`).catch(() => undefined))?.status === 200,
      20_000,
    );
    await use?.(api);
  } finally {
    tunnel.kill();
  }
}

/** A squeue that notes when it is called, for counting hpcjob's calls. */
export interface CountedSqueue {
  /** A PATH for userEnv's `env` with this squeue first (then the stand-ins and the system's). */
  path: string;
  /** When each call started (ms since the epoch), in order. */
  calls: () => number[];
}

/** A squeue that logs the time of each call, then runs the real one; any user may run it. */
export function countedSqueue(): CountedSqueue {
  return countedCommand("squeue");
}

/** A Slurm command (squeue, sbatch ...) that logs the time of each call, then runs the real one; any user may run it. */
export function countedCommand(tool: string): CountedSqueue {
  const dir = mkdtempSync(`/tmp/hpcjob-${tool}-`);
  chmodSync(dir, 0o755);
  const log = join(dir, "calls");
  writeFileSync(log, "");
  chmodSync(log, 0o666);
  writeFileSync(join(dir, tool), `#!/bin/sh\ndate +%s%3N >> ${log}\nexec /usr/bin/${tool} "$@"\n`);
  chmodSync(join(dir, tool), 0o755);
  return {
    path: `${dir}:${stage()}/standins:/usr/local/bin:/usr/bin:/bin`,
    calls: () => readFileSync(log, "utf8").trim().split("\n").filter(Boolean).map(Number),
  };
}

/** squeue's state for a job, or "" once Slurm no longer lists it. */
export function jobState(jobId: string): string {
  const r = spawnSync("squeue", ["-h", "-j", jobId, "-o", "%T"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : "";
}

/**
 * Another user's job takes both CPUs of the node, so alice's next job pends;
 * returns its id. The other user is root: bob has no Slurm account, so
 * accounting refuses his jobs.
 */
export function blockNode(): string {
  const r = spawnSync("sbatch", ["--parsable", "-c", "2", "-J", "blocker", "-o", "/dev/null", "--wrap", "sleep 600"], {
    encoding: "utf8",
    cwd: "/",
  });
  if (r.status !== 0) throw new Error(`could not block the node: ${r.stderr}`);
  return r.stdout.trim();
}

/** Cancel every job of the test users (between tests). */
export function cancelAll(): void {
  spawnSync("scancel", ["-u", "alice"]);
  spawnSync("scancel", ["-u", "bob"]);
  // The node blockers some tests submit as root (bob has no Slurm account).
  spawnSync("scancel", ["-u", "root", "-n", "blocker"]);
}
