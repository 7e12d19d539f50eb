/**
 * The container-runtime stand-ins in test/standins (apptainer/singularity,
 * srun with pyxis, enroot) run the payload INSIDE the real test images
 * (test/cluster/images.sh; the manifest images.json) with Charliecloud's
 * ch-run, with each real tool's defaults and messages. Run as root; every
 * stand-in runs as alice (setpriv), with an environment given in full.
 * Needs: sudo bash test/cluster/install.sh && sudo bash test/cluster/images.sh
 * (no Slurm: srun runs the task itself outside an allocation).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LoadedProfile, loadProfile } from "../../src/profile/load.js";
import { renderScript } from "../../src/render/render.js";
import { ROOT, requestFor, STANDINS } from "../helpers.js";

const MANIFEST = process.env.HPCJOB_IMAGES_JSON ?? "/var/cache/hpcjob-test-images/images.json";
const FIXTURES = join(ROOT, "test", "fixtures", "clusters");
const USER = "alice";
const HOME = "/home/alice";
const HOST = hostname().split(".")[0] as string;

interface Image {
  sif: string;
  enrootSqsh: string;
}
let marker = "";
let jupyter: Image;
let nojupyter: Image;

/** The test's folders: ws under /tmp (alice's), a working folder outside every default bind, a file only the host has. */
let ws = "";
let srv = "";
let homeFile = "";
const HOST_ONLY = `/opt/hpcjob-standins-host-only-${process.pid}`;
const cache = () => join(ws, "cache");

beforeAll(() => {
  if (!existsSync(MANIFEST)) throw new Error(`${MANIFEST} is missing: sudo bash test/cluster/images.sh builds the real test images`);
  if (spawnSync("sh", ["-c", "command -v ch-run unsquashfs siftool setpriv"]).status !== 0) {
    throw new Error("ch-run, unsquashfs, siftool and setpriv are needed: sudo bash test/cluster/install.sh");
  }
  const m = JSON.parse(readFileSync(MANIFEST, "utf8"));
  marker = m.marker.text;
  jupyter = m.images.jupyter;
  nojupyter = m.images.nojupyter;
  ws = mkdtempSync("/tmp/hpcjob-standins-");
  srv = `/srv/hpcjob-standins-${process.pid}`;
  mkdirSync(srv, { recursive: true });
  homeFile = join(HOME, `.hpcjob-standins-${process.pid}`);
  writeFileSync(homeFile, "in the home folder\n");
  writeFileSync(join(srv, "cwd-file"), "in the working folder\n");
  writeFileSync(join(ws, "tmp-file"), "in /tmp\n");
  mkdirSync(join(ws, "data"));
  writeFileSync(join(ws, "data", "data-file"), "bound\n");
  writeFileSync(HOST_ONLY, "host only\n");
  chmodSync(HOST_ONLY, 0o644);
  execFileSync("chown", ["-R", `${USER}:${USER}`, ws, srv, homeFile]);
  chmodSync(ws, 0o755);
  // Warm the cache once (the first extraction of each image takes seconds).
  for (const image of [jupyter.sif, nojupyter.sif]) alice(["apptainer", "exec", image, "true"]);
  for (const image of [jupyter.enrootSqsh, nojupyter.enrootSqsh]) alice(["srun", `--container-image=${image}`, "true"]);
}, 600_000);

afterAll(() => {
  for (const p of [ws, srv, homeFile, HOST_ONLY]) if (p) rmSync(p, { recursive: true, force: true });
});

/** The environment of each run: a login's, the stand-ins first on PATH, a few values the image overrides. */
function baseEnv(): Record<string, string> {
  return {
    HOME,
    USER,
    LOGNAME: USER,
    PATH: `${STANDINS}:/usr/local/bin:/usr/bin:/bin`,
    LANG: "en_US.UTF-8",
    TERM: "xterm",
    HOSTVAR: "from-host",
    HPCJOB_TEST_IMAGE: "set-on-the-host",
    HPCJOB_STANDIN_CACHE: cache(),
    ENROOT_DATA_PATH: join(ws, "enroot"),
  };
}

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * argv as alice with exactly baseEnv() + env (a value of null removes a
 * variable). setpriv execs in place (runuser forks, and SIGKILLs its child 2 s
 * after forwarding a SIGTERM), so the process started is the command itself.
 */
function aliceArgv(argv: string[], env: Record<string, string | null> = {}): string[] {
  const all: Record<string, string | null> = { ...baseEnv(), ...env };
  const pairs = Object.entries(all)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${v}`);
  return ["setpriv", `--reuid=${USER}`, `--regid=${USER}`, "--init-groups", "--", "env", "-i", ...pairs, ...argv];
}

function alice(argv: string[], opts: { env?: Record<string, string | null>; cwd?: string; input?: string } = {}): Run {
  const [cmd, ...args] = aliceArgv(argv, opts.env);
  const r = spawnSync(cmd as string, args, { cwd: opts.cwd ?? ws, encoding: "utf8", input: opts.input ?? "", timeout: 180_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A shell command inside the image, through the given runtime's command line. */
function sh(prefix: string[], script: string, opts: { env?: Record<string, string | null>; cwd?: string } = {}): Run {
  return alice([...prefix, "sh", "-c", script], opts);
}

/** Lines of `name=value` for the listed variables (unset ones as name=<unset>). */
const show = (...names: string[]) => names.map((n) => `echo "${n}=\${${n}-<unset>}"`).join("; ");

/**
 * Start argv as alice in a new process group, wait until `started` exists,
 * SIGTERM the group, and return whether every process of the group is gone.
 */
async function killGroupStops(argv: string[], started: string, opts: { env?: Record<string, string | null>; cwd?: string } = {}) {
  const [cmd, ...args] = aliceArgv(argv, opts.env);
  const child = spawn(cmd as string, args, { cwd: opts.cwd ?? ws, detached: true, stdio: "ignore" });
  const pgid = child.pid as number;
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  await until(() => existsSync(started), 60_000, `${started} (the payload did not start)`);
  const before = groupProcesses(pgid);
  process.kill(-pgid, "SIGTERM");
  await exited;
  await until(() => groupProcesses(pgid).length === 0, 20_000, `the end of process group ${pgid}`);
  return before;
}

/**
 * Start argv as alice, wait until the payload has started (it writes
 * `started`), send SIGUSR1 to the process started (the runtime's command, as
 * a batch script passes Slurm's signal on), and return what the payload wrote
 * and the exit status: the payload answers the signal by writing "USR1" to
 * `started` + ".got" and exiting 0.
 */
async function usr1Reaches(argv: string[], started: string): Promise<{ got: string; status: number }> {
  const [cmd, ...args] = aliceArgv(argv);
  const child = spawn(cmd as string, args, { cwd: ws, stdio: "ignore" });
  const exited = new Promise<number>((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  await until(() => existsSync(started), 60_000, `${started} (the payload did not start)`);
  process.kill(child.pid as number, "SIGUSR1");
  const status = await exited;
  return { got: existsSync(`${started}.got`) ? readFileSync(`${started}.got`, "utf8") : "", status };
}

/** A payload that waits for SIGUSR1, notes it and exits 0 (see usr1Reaches). */
const pyUsr1 = (name: string) => [
  "python3",
  "-c",
  `import pathlib, signal, sys, time
signal.signal(signal.SIGUSR1, lambda *_: (pathlib.Path("${started(name)}.got").write_text("USR1"), sys.exit(0)))
pathlib.Path("${started(name)}").write_text("x")
time.sleep(300)`,
];

/** The live (not zombie) processes of a process group, with their command lines. */
function groupProcesses(pgid: number): string[] {
  const r = spawnSync("ps", ["-o", "pid=,stat=,args=", "-g", String(pgid)], { encoding: "utf8" });
  return r.stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !/^\d+\s+Z/.test(l));
}

async function until(test: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const started = (name: string) => join(ws, `started-${name}`);
const pySleep = (name: string) => [
  "python3",
  "-c",
  `import pathlib, time; pathlib.Path("${started(name)}").write_text("x"); time.sleep(300)`,
];

describe("the stand-in scripts", () => {
  it("are shellcheck -S warning clean, following what they source", () => {
    const scripts = ["apptainer", "srun", "enroot", ...readdirSync(join(STANDINS, "lib")).map((f) => join("lib", f))];
    const r = spawnSync("shellcheck", ["-S", "warning", "-x", ...scripts], { cwd: STANDINS, encoding: "utf8" });
    expect(r.error).toBeUndefined();
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});

describe("apptainer", () => {
  const exec = (...opts: string[]) => ["apptainer", "exec", ...opts];

  it("runs the payload inside the image: marker, image ENV (PATH, LANG, its variables win over the host's), host files invisible", () => {
    const r = sh(
      exec(jupyter.sif),
      `cat /etc/hpcjob-test-image; hpcjob-image-marker; ${show("HPCJOB_TEST_IMAGE", "HPCJOB_TEST_IMAGE_NOTE", "LANG", "HOSTVAR", "HOME", "APPTAINER_NAME", "APPTAINER_COMMAND")}; echo "PATH=$PATH"; test -e ${HOST_ONLY} && echo host-only-visible || echo host-only-invisible`,
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.split("\n")).toEqual([
      marker,
      marker,
      "HPCJOB_TEST_IMAGE=jupyter",
      "HPCJOB_TEST_IMAGE_NOTE=set by the image's ENV",
      "LANG=C.UTF-8",
      "HOSTVAR=from-host",
      `HOME=${HOME}`,
      "APPTAINER_NAME=jupyter.sif",
      "APPTAINER_COMMAND=exec",
      "PATH=/opt/hpcjob/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "host-only-invisible",
      "",
    ]);
    expect(existsSync("/etc/hpcjob-test-image")).toBe(false);
  });

  it("binds the home folder, the working folder, /tmp and /var/tmp by default, and starts in the working folder", () => {
    const varTmp = `/var/tmp/hpcjob-standins-${process.pid}`;
    writeFileSync(varTmp, "in /var/tmp\n");
    try {
      const r = sh(exec(nojupyter.sif), `pwd; cat ${homeFile} cwd-file ${join(ws, "tmp-file")} ${varTmp}; echo written > from-container`, {
        cwd: srv,
      });
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(`${srv}\nin the home folder\nin the working folder\nin /tmp\nin /var/tmp\n`);
      expect(readFileSync(join(srv, "from-container"), "utf8")).toBe("written\n");
    } finally {
      rmSync(varTmp, { force: true });
    }
  });

  it("binds onto a destination the image lacks (created, as Apptainer's underlay does); --pwd sets the working folder", () => {
    const r = sh(exec("--bind", `${ws}/data:/cephyr/project`, "--pwd", "/cephyr/project", nojupyter.sif), "pwd; cat data-file");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("/cephyr/project\nbound\n");
  });

  it("fails a bind whose source is missing with Apptainer's message and exit code 255", () => {
    const r = alice(exec("-B", "/nonexistent-hpcjob:/x", nojupyter.sif, "true"));
    expect(r.status).toBe(255);
    expect(r.stderr).toBe(
      "FATAL:   container creation failed: mount hook function failure: mount /nonexistent-hpcjob->/x error: while mounting /nonexistent-hpcjob: mount source /nonexistent-hpcjob doesn't exist\n",
    );
  });

  it("--cleanenv drops the host's variables but keeps TERM; APPTAINERENV_ and --env still apply, over the image's", () => {
    const r = sh(
      exec("--cleanenv", "--env", "FROMFLAG=flag value", nojupyter.sif),
      show("HOSTVAR", "TERM", "LANG", "FOO", "FROMFLAG", "HPCJOB_TEST_IMAGE"),
      {
        env: { APPTAINERENV_FOO: "bar", APPTAINERENV_HPCJOB_TEST_IMAGE: "overridden" },
      },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("HOSTVAR=<unset>\nTERM=xterm\nLANG=C.UTF-8\nFOO=bar\nFROMFLAG=flag value\nHPCJOB_TEST_IMAGE=overridden\n");
  });

  it("APPTAINERENV_PATH replaces the image's PATH, APPTAINERENV_HOME is refused with Apptainer's warning", () => {
    const r = sh(exec(nojupyter.sif), 'echo "$PATH"', { env: { APPTAINERENV_PATH: "/usr/bin:/bin", APPTAINERENV_HOME: "/x" } });
    expect(r.stdout).toBe("/usr/bin:/bin\n");
    expect(r.stderr).toBe("WARNING: Overriding HOME environment variable with APPTAINERENV_HOME is not permitted\n");
  });

  it("--contain: no home, working folder or /tmp from the host", () => {
    const r = sh(
      exec("--contain", nojupyter.sif),
      `pwd; ls -A ${HOME}; test -e ${join(ws, "tmp-file")} && echo tmp-visible || echo tmp-invisible`,
      { cwd: srv },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`${HOME}\ntmp-invisible\n`);
  });

  it("fails `jupyter server` in the image without Jupyter with Apptainer's message and exit code 255", () => {
    const r = alice(exec(nojupyter.sif, "jupyter", "server"));
    expect(r.status).toBe(255);
    expect(r.stderr).toBe('FATAL:   "jupyter": executable file not found in $PATH\n');
  });

  it("refuses a missing image and a file that is not an image, as Apptainer does", () => {
    const missing = alice(exec(`${ws}/nope/x.sif`, "true"));
    expect(missing.status).toBe(255);
    expect(missing.stderr).toBe(
      `FATAL:   could not open image ${ws}/nope/x.sif: failed to retrieve path for ${ws}/nope/x.sif: lstat ${ws}/nope: no such file or directory\n`,
    );
    writeFileSync(join(ws, "fake.sif"), "#!/usr/bin/env run-singularity\nSIF_MAGIC not really\n");
    const fake = alice(exec(join(ws, "fake.sif"), "true"));
    expect(fake.status).toBe(255);
    expect(fake.stderr).toBe(`FATAL:   could not open image ${ws}/fake.sif: image format not recognized\n`);
  });

  it("exits with the payload's own code; --nv on a host without the NVIDIA driver warns as Apptainer does", () => {
    const r = sh(exec("--nv", nojupyter.sif), "exit 7");
    expect(r.status).toBe(7);
    expect(r.stderr).toBe("WARNING: Could not find any nv files on this host!\nWARNING: Could not find any nv libraries on this host!\n");
  });

  it("singularity reads SINGULARITYENV_", () => {
    const r = sh(["singularity", "exec", nojupyter.sif], show("FOO"), { env: { SINGULARITYENV_FOO: "sing" } });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("FOO=sing\n");
  });

  it("a SIGUSR1 to apptainer exec reaches the program (Apptainer's starter passes signals on to the container's process)", async () => {
    expect(await usr1Reaches(exec(nojupyter.sif, ...pyUsr1("apptainer-usr1")), started("apptainer-usr1"))).toEqual({
      got: "USR1",
      status: 0,
    });
  });

  it("a SIGTERM to the process group stops the payload", async () => {
    const before = await killGroupStops(exec(nojupyter.sif, ...pySleep("apptainer")), started("apptainer"));
    // ch-run runs a directory image in its own process: the payload has the stand-in's pid.
    expect(before.some((l) => l.includes("time.sleep(300)"))).toBe(true);
    expect(before.some((l) => l.includes("ch-run"))).toBe(false);
  });

  it("two first runs at once extract the image once and both succeed", async () => {
    const fresh = join(ws, "fresh-cache");
    const runs = [1, 2].map(
      () =>
        new Promise<Run>((resolve) => {
          const [cmd, ...args] = aliceArgv(["apptainer", "exec", nojupyter.sif, "cat", "/etc/hpcjob-test-image"], {
            HPCJOB_STANDIN_CACHE: fresh,
          });
          const c: ChildProcess = spawn(cmd as string, args, { cwd: ws });
          let stdout = "";
          let stderr = "";
          c.stdout?.on("data", (d) => {
            stdout += d;
          });
          c.stderr?.on("data", (d) => {
            stderr += d;
          });
          c.on("exit", (code) => resolve({ status: code ?? -1, stdout, stderr }));
        }),
    );
    for (const r of await Promise.all(runs)) {
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(`${marker}\n`);
    }
    expect(readdirSync(fresh).filter((f) => /^rootfs-[0-9a-f]+$/.test(f))).toHaveLength(1);
  });
});

describe("srun with pyxis", () => {
  const srun = (...opts: string[]) => ["srun", "--ntasks=1", ...opts];

  it("runs the task inside the image: marker, image ENV over the job's, host files and /tmp invisible, Debian's login PATH", () => {
    const r = sh(
      srun(`--container-image=${jupyter.enrootSqsh}`),
      `cat /etc/hpcjob-test-image; /opt/hpcjob/bin/hpcjob-image-marker; ${show("HPCJOB_TEST_IMAGE", "LANG", "HOSTVAR", "PATH")}; pwd; command -v hpcjob-image-marker || echo marker-not-on-PATH; test -e ${HOST_ONLY} && echo host-only-visible || echo host-only-invisible; test -e ${join(ws, "tmp-file")} && echo tmp-visible || echo tmp-invisible`,
    );
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")).toEqual([
      marker,
      marker,
      "HPCJOB_TEST_IMAGE=jupyter",
      "LANG=C.UTF-8",
      "HOSTVAR=from-host",
      // enroot runs /etc/rc through a login shell, and Debian's /etc/profile sets PATH.
      "PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games",
      "/",
      "marker-not-on-PATH",
      "host-only-invisible",
      "tmp-invisible",
      "",
    ]);
  });

  it("mounts the home folder only with --container-mount-home (pyxis leaves it to enroot's ENROOT_MOUNT_HOME, default no)", () => {
    const look = `cat ${homeFile} 2>/dev/null || echo home-file-invisible`;
    expect(sh(srun(`--container-image=${nojupyter.enrootSqsh}`), look).stdout).toBe("home-file-invisible\n");
    expect(sh(srun("--no-container-mount-home", `--container-image=${nojupyter.enrootSqsh}`), look).stdout).toBe("home-file-invisible\n");
    expect(sh(srun("--container-mount-home", `--container-image=${nojupyter.enrootSqsh}`), look).stdout).toBe("in the home folder\n");
    expect(sh(srun(`--container-image=${nojupyter.enrootSqsh}`), look, { env: { ENROOT_MOUNT_HOME: "yes" } }).stdout).toBe(
      "in the home folder\n",
    );
  });

  it("--container-mounts creates missing destinations; --container-workdir sets the working folder", () => {
    const r = sh(
      srun(
        `--container-image=${nojupyter.enrootSqsh}`,
        `--container-mounts=${ws}/data:/cephyr/project:ro`,
        "--container-workdir=/cephyr/project",
      ),
      "pwd; cat data-file",
    );
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("/cephyr/project\nbound\n");
  });

  it("fails a mount whose source is missing, and a malformed one, with pyxis's messages", () => {
    const missing = alice(srun(`--container-image=${nojupyter.enrootSqsh}`, "--container-mounts=/nonexistent-hpcjob:/x", "true"));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(
      [
        "slurmstepd: error: pyxis: --container-mounts: source path does not exist: /nonexistent-hpcjob",
        "slurmstepd: error: pyxis: couldn't create enroot start configuration script",
        "slurmstepd: error: pyxis: printing enroot log file:",
        "slurmstepd: error: pyxis:     [INFO] Extracting squashfs filesystem...",
        "slurmstepd: error: spank: required plugin spank_pyxis.so: task_init() failed with rc=-1",
        "slurmstepd: error: Failed to invoke spank plugin stack",
        `srun: error: ${HOST}: task 0: Exited with exit code 1`,
        "",
      ].join("\n"),
    );
    const bad = alice(srun(`--container-image=${nojupyter.enrootSqsh}`, "--container-mounts=:/x", "true"));
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe(
      "srun: error: pyxis: --container-mounts: invalid format: :/x\nsrun: error: Invalid --container-mounts argument: :/x\n",
    );
  });

  it("--container-env: those variables come from the job, over the image's (LANG included)", () => {
    const script = show("HPCJOB_TEST_IMAGE", "LANG");
    expect(sh(srun(`--container-image=${nojupyter.enrootSqsh}`), script).stdout).toBe("HPCJOB_TEST_IMAGE=nojupyter\nLANG=C.UTF-8\n");
    expect(sh(srun(`--container-image=${nojupyter.enrootSqsh}`, "--container-env=HPCJOB_TEST_IMAGE,LANG"), script).stdout).toBe(
      "HPCJOB_TEST_IMAGE=set-on-the-host\nLANG=en_US.UTF-8\n",
    );
  });

  it("fails `jupyter server` in the image without Jupyter as slurmstepd and srun report it, exit code 2", () => {
    const r = alice(srun(`--container-image=${nojupyter.enrootSqsh}`, "jupyter", "server"));
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `slurmstepd: error: execve(): jupyter: No such file or directory\nsrun: error: ${HOST}: task 0: Exited with exit code 2\n`,
    );
  });

  it("a missing squashfs and an image reference (no network) fail as pyxis and enroot report them", () => {
    const missing = alice(srun(`--container-image=${ws}/nope.sqsh`, "true"));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(
      new RegExp(
        `^slurmstepd: error: pyxis: child \\d+ failed with error code: 1\nslurmstepd: error: pyxis: failed to create container filesystem for image: ${ws}/nope.sqsh\nslurmstepd: error: pyxis: printing enroot log file:\nslurmstepd: error: pyxis:     \\[ERROR\\] No such file or directory: ${ws}/nope.sqsh\n`,
      ),
    );
    const ref = alice(srun("--container-image=nvcr.io#nvidia/pytorch:24.01-py3", "true"));
    expect(ref.status).toBe(1);
    expect(ref.stderr).toContain("pyxis: importing docker image: nvcr.io#nvidia/pytorch:24.01-py3\n");
    expect(ref.stderr).toContain("slurmstepd: error: pyxis: failed to import docker image: nvcr.io#nvidia/pytorch:24.01-py3\n");
    expect(ref.stderr).toContain("curl: (6) Could not resolve host: nvcr.io\n");
  });

  it("a SIGTERM to the process group stops the task", async () => {
    const before = await killGroupStops(
      srun(`--container-image=${nojupyter.enrootSqsh}`, `--container-mounts=${ws}:${ws}`, ...pySleep("pyxis")),
      started("pyxis"),
    );
    expect(before.some((l) => l.includes("time.sleep(300)"))).toBe(true);
  });
});

describe("enroot", () => {
  const name = `standins-${process.pid}`;
  const start = (...opts: string[]) => ["enroot", "start", ...opts];

  it("create unpacks the squashfs under ENROOT_DATA_PATH (default: XDG_DATA_HOME/enroot, XDG_DATA_HOME defaulting to ~/.local/share); remove deletes it", () => {
    const xdg = join(ws, "xdg");
    const env = { ENROOT_DATA_PATH: null, XDG_DATA_HOME: xdg };
    const c = alice(["enroot", "create", "--name", "xdg-test", nojupyter.enrootSqsh], { env });
    expect(c.status).toBe(0);
    expect(c.stderr.split("\n")[0]).toBe("[INFO] Extracting squashfs filesystem...");
    expect(readFileSync(join(xdg, "enroot", "xdg-test", "etc", "hpcjob-test-image"), "utf8")).toBe(`${marker}\n`);
    const again = alice(["enroot", "create", "--name", "xdg-test", nojupyter.enrootSqsh], { env });
    expect(again.status).toBe(1);
    expect(again.stderr).toBe(`[ERROR] File already exists: ${xdg}/enroot/xdg-test\n`);
    expect(alice(["enroot", "remove", "--force", "xdg-test"], { env }).status).toBe(0);
    expect(existsSync(join(xdg, "enroot", "xdg-test"))).toBe(false);
  });

  it("start: a cleared environment (the image's, TERM and --env only), read-only root, private /tmp, cwd /", () => {
    expect(alice(["enroot", "create", "--force", "--name", name, jupyter.enrootSqsh]).status).toBe(0);
    const r = sh(
      start("--env", "HOSTVAR", "--env", "GIVEN=value", name),
      `cat /etc/hpcjob-test-image; ${show("HPCJOB_TEST_IMAGE", "LANG", "HOSTVAR", "GIVEN", "TERM", "HOME", "PATH")}; pwd; touch /etc/x 2>/dev/null && echo root-writable || echo root-read-only; test -e ${join(ws, "tmp-file")} && echo tmp-visible || echo tmp-invisible; test -e ${HOST_ONLY} && echo host-only-visible || echo host-only-invisible`,
      { env: { HOSTVAR: "from-host", NOTPASSED: "x" } },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")).toEqual([
      marker,
      "HPCJOB_TEST_IMAGE=jupyter",
      "LANG=C.UTF-8",
      "HOSTVAR=from-host",
      "GIVEN=value",
      "TERM=xterm",
      `HOME=${HOME}`,
      "PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games",
      "/",
      "root-read-only",
      "tmp-invisible",
      "host-only-invisible",
      "",
    ]);
    expect(sh(start(name), show("HOSTVAR")).stdout).toBe("HOSTVAR=<unset>\n");
  });

  it("the home folder is the image's (read-only) unless ENROOT_MOUNT_HOME; --rw makes the root writable", () => {
    const look = `cat ${homeFile} 2>/dev/null || echo home-file-invisible; mkdir -p ~/.local/x 2>/dev/null && echo home-writable || echo home-read-only`;
    expect(sh(start(name), look).stdout).toBe("home-file-invisible\nhome-read-only\n");
    expect(sh(start(name), look, { env: { ENROOT_MOUNT_HOME: "y" } }).stdout).toBe("in the home folder\nhome-writable\n");
    rmSync(join(HOME, ".local", "x"), { recursive: true, force: true });
    expect(sh(start("--rw", name), "touch /etc/x && echo root-writable").stdout).toBe("root-writable\n");
  });

  it("--mount SRC:DST creates the destination; with explicit options and no x-create a missing destination fails (enroot-mount)", () => {
    const root = join(ws, "enroot", name);
    const ok = sh(start("--mount", `${ws}/data:/cephyr/project`, name), "cat /cephyr/project/data-file");
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toBe("bound\n");
    const ro = alice(start("--mount", `${ws}/data:/datasets:none:bind,ro`, name, "true"));
    expect(ro.status).toBe(1);
    expect(ro.stderr).toBe(`enroot-mount: failed to mount: ${ws}/data at ${root}/datasets: No such file or directory\n`);
    const missing = alice(start("--mount", "/nonexistent-hpcjob:/x", name, "true"));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(`enroot-mount: failed to mount: /nonexistent-hpcjob at ${root}/x: No such file or directory\n`);
  });

  it("a command missing from the image fails in /etc/rc, as with the real enroot (exit 127)", () => {
    expect(alice(["enroot", "create", "--force", "--name", `${name}-no`, nojupyter.enrootSqsh]).status).toBe(0);
    const r = alice(start(`${name}-no`, "jupyter", "server"));
    expect(r.status).toBe(127);
    expect(r.stderr).toBe("/etc/rc: line 14: exec: jupyter: not found\n");
  });

  it("create refuses a missing file and a file that is not a squashfs; start an unknown container", () => {
    const missing = alice(["enroot", "create", "--name", "x", `${ws}/nope.sqsh`]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(`[ERROR] No such file or directory: ${ws}/nope.sqsh\n`);
    const notSquashfs = alice(["enroot", "create", "--name", "x", join(ws, "tmp-file")]);
    expect(notSquashfs.status).toBe(1);
    expect(notSquashfs.stderr).toBe(`[ERROR] Invalid image format: ${ws}/tmp-file\n`);
    const unknown = alice(start("no-such-container", "true"));
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toBe(`[ERROR] No such file or directory: ${ws}/enroot/no-such-container\n`);
  });

  it("a SIGTERM to the process group stops the payload", async () => {
    await killGroupStops(start("--mount", `${ws}:${ws}`, name, ...pySleep("enroot")), started("enroot"));
  });

  it("a SIGUSR1 to enroot start reaches the program (enroot execs its way into it)", async () => {
    expect(
      await usr1Reaches(start("--mount", `${ws}:${ws}`, nojupyter.enrootSqsh, ...pyUsr1("enroot-usr1")), started("enroot-usr1")),
    ).toEqual({
      got: "USR1",
      status: 0,
    });
  });
});

/**
 * The Jupyter job scripts hpcjob renders, run by bash as alice (no Slurm):
 * Jupyter starts inside the image in the job's folder, answers with the
 * token, and a SIGTERM to the job's process group (what scancel sends) stops
 * it, frees its port and removes connection.json.
 */
describe("rendered Jupyter job scripts", () => {
  async function profile(cluster: string): Promise<LoadedProfile> {
    const l = await loadProfile({ env: { HPCJOB_CLUSTERS: FIXTURES }, home: "/nonexistent-home" }, cluster);
    const p = l.profile;
    return {
      ...l,
      profile: {
        ...p,
        container: { ...p.container, binds: [] },
        environment: { ...p.environment, modules: [] },
        jupyter: { ...p.jupyter, command: ["jupyter", "server"] },
      },
    };
  }

  async function runJupyter(cluster: string, image: string, env: Record<string, string | null> = {}) {
    const workdir = join(ws, `job-${cluster}`);
    const runDir = join(ws, `run-${cluster}`);
    mkdirSync(workdir);
    execFileSync("chown", [`${USER}:${USER}`, workdir]);
    const req = requestFor(await profile(cluster), { image, account: "acct", gpus: "0" }, { kind: "jupyter" }, workdir);
    const script = join(ws, `jupyter-${cluster}.sbatch`);
    writeFileSync(script, renderScript(req, runDir));
    chmodSync(script, 0o644);
    writeFileSync(join(workdir, "in-the-job-folder.txt"), "");
    execFileSync("chown", [`${USER}:${USER}`, join(workdir, "in-the-job-folder.txt")]);
    const [cmd, ...args] = aliceArgv(["bash", script], env);
    const child = spawn(cmd as string, args, { cwd: workdir, detached: true, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d) => {
      stderr += d;
    });
    const exited = new Promise<number>((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : -1))));
    const conn = join(runDir, "connection.json");
    try {
      await until(() => existsSync(conn) || child.exitCode !== null, 120_000, "connection.json");
      if (!existsSync(conn)) throw new Error(`Jupyter did not start:\n${stderr}`);
      const c = JSON.parse(readFileSync(conn, "utf8"));
      const addr = spawnSync("getent", ["ahostsv4", c.node], { encoding: "utf8" }).stdout.split(/\s+/)[0] || "127.0.0.1";
      const ok = await fetch(`http://${addr}:${c.port}/api/status?token=${c.token}`);
      const denied = await fetch(`http://${addr}:${c.port}/api/status`);
      const listing = (await (await fetch(`http://${addr}:${c.port}/api/contents?token=${c.token}`)).json()) as {
        content: { name: string }[];
      };
      process.kill(-(child.pid as number), "SIGTERM");
      await exited;
      await until(() => groupProcesses(child.pid as number).length === 0, 20_000, "the job's processes to end");
      const portFree = await fetch(`http://${addr}:${c.port}/api`).then(
        () => false,
        () => true,
      );
      const files = listing.content.map((f) => f.name);
      return { ok: ok.status, denied: denied.status, files, connLeft: existsSync(conn), portFree, stderr };
    } finally {
      try {
        process.kill(-(child.pid as number), "SIGKILL");
      } catch {
        // already gone
      }
    }
  }

  it("apptainer (loopback): Jupyter serves the job's folder, and stops with its process group", async () => {
    const r = await runJupyter("loopback", jupyter.sif);
    expect(r.ok).toBe(200);
    expect(r.denied).toBe(403);
    expect(r.files).toContain("in-the-job-folder.txt");
    expect(r.connLeft).toBe(false);
    expect(r.portFree).toBe(true);
    expect(r.stderr).toContain("hpcjob: Jupyter is ready on");
  });

  it("pyxis (penn): the same through srun --container-image", async () => {
    const r = await runJupyter("penn", jupyter.enrootSqsh);
    expect(r.ok).toBe(200);
    expect(r.denied).toBe(403);
    expect(r.files).toContain("in-the-job-folder.txt");
    expect(r.connLeft).toBe(false);
    expect(r.portFree).toBe(true);
  });

  it("enroot (rt-enroot), with enroot's defaults on the node: the same through enroot create/start", async () => {
    // enroot's defaults (no home mount, read-only root) leave Jupyter nowhere
    // to write ~/.local/share/jupyter/runtime; the script mounts the home
    // folder (ENROOT_MOUNT_HOME=y), so a site's "no" does not break it either.
    const r = await runJupyter("rt-enroot", jupyter.enrootSqsh, { ENROOT_MOUNT_HOME: "no" });
    expect(r.ok).toBe(200);
    expect(r.denied).toBe(403);
    expect(r.files).toContain("in-the-job-folder.txt");
    expect(r.connLeft).toBe(false);
    expect(r.portFree).toBe(true);
    expect(readdirSync(join(ws, "enroot")).filter((f) => f.startsWith("hpcjob-"))).toEqual([]);
  });
});
