/**
 * Charliecloud for real, end to end on the loopback cluster, with no stand-in
 * anywhere: alice pulls the test image from the test registry (TLS, the test
 * CA) with `ch-image pull`, converts it with `ch-convert` to a SquashFS file
 * and to an image directory, and hpcjob runs Jupyter and batch jobs in it
 * with Debian's `ch-run` (the loopback-charliecloud profile). PATH has no
 * stand-ins. Needs test/cluster/install.sh, start.sh and images.sh; fails,
 * never skips, without them.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cancelAll, hpcjob, jobState, NODE, requireCluster, runAs, throughTunnel, until, workDir } from "./harness.js";

/** The manifest test/cluster/images.sh writes: the registry, its CA and the marker only the image has. */
const MANIFEST = "/var/cache/hpcjob-test-images/images.json";
const CLUSTER = ["--cluster", "loopback-charliecloud"];
/** The job's environment: the system's programs only, so ch-run is Debian's and no stand-in can answer. */
const ENV = { env: { PATH: "/usr/local/bin:/usr/bin:/bin" } };
const HOME = "/home/alice";
const IMAGES = `${HOME}/images/ch-e2e`;
const SQFS = `${IMAGES}/jupyter.sqfs`;
const DIR = `${IMAGES}/jupyter`;

interface Manifest {
  registry: { caBundle: string };
  marker: { file: string; text: string; command: string; envName: string };
  images: { jupyter: { ref: string } };
}
let manifest: Manifest;

interface JupyterResult {
  jobId: string;
  node: string;
  port: number;
  token: string;
  url: string;
  tunnel: string;
  runDir: string;
  log: string;
}

/** A program for batch jobs: prints what it got and what it sees as one JSON line after "PROBE ", then exits with PROBE_EXIT. */
const PROBE = `import json, os, shutil, subprocess, sys
names = ["HPCJOB_TEST_IMAGE", "LANG", "PROBE_TEXT"]
print("PROBE " + json.dumps({
    "args": sys.argv[1:],
    "marker": open("/etc/hpcjob-test-image").read().strip(),
    "markerCommand": shutil.which("hpcjob-image-marker"),
    "markerOutput": subprocess.run(["hpcjob-image-marker"], capture_output=True, text=True).stdout.strip(),
    "env": {name: os.environ.get(name) for name in names},
    "cwd": os.getcwd(),
}), flush=True)
sys.exit(int(os.environ.get("PROBE_EXIT", "0")))
`;

/** What the probe printed. */
interface Probed {
  args: string[];
  marker: string;
  markerCommand: string | null;
  markerOutput: string;
  env: Record<string, string | null>;
  cwd: string;
}

/**
 * As alice, the way Charliecloud documents it: `ch-image pull` from the
 * registry (trusting the test CA through REQUESTS_CA_BUNDLE, as ch-image
 * does), then `ch-convert` to a SquashFS file and to a directory. The storage
 * is a fresh folder, so nothing earlier is reused. Returns the seconds taken.
 */
function pullAndConvert(): number {
  const ref = manifest.images.jupyter.ref;
  const script = [
    "set -eu",
    `rm -rf ${IMAGES} && mkdir -p ${IMAGES} ~/work`,
    "scratch=$(mktemp -d) && trap 'rm -rf \"$scratch\"' EXIT",
    // ch-image makes its storage folder itself; ch-convert 0.31 finds it only through CH_IMAGE_STORAGE.
    'export CH_IMAGE_STORAGE="$scratch/storage"',
    `ch-image --no-cache pull ${ref}`,
    `ch-convert -i ch-image -o squash ${ref} ${SQFS}`,
    `ch-convert -i ch-image -o dir ${ref} ${DIR}`,
  ].join("\n");
  const started = Date.now();
  const r = runAs("alice", ["bash", "-c", script], {
    env: { PATH: "/usr/bin:/bin", REQUESTS_CA_BUNDLE: manifest.registry.caBundle },
    timeoutMs: 240_000,
  });
  if (r.status !== 0)
    throw new Error(`ch-image pull / ch-convert failed (${r.status}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  return (Date.now() - started) / 1000;
}

/** The processes whose command line has `needle`: pid and argv. */
function processesWith(needle: string): { pid: number; argv: string[] }[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .flatMap((p) => {
      try {
        const argv = readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").slice(0, -1);
        return argv.join(" ").includes(needle) ? [{ pid: Number(p), argv }] : [];
      } catch {
        return [];
      }
    });
}

/** The probe's report in a job's output, or an error showing the output. */
function probed(stdout: string, stderr: string): Probed {
  const line = stdout.split("\n").find((l) => l.startsWith("PROBE "));
  if (!line) throw new Error(`the probe printed nothing:\n${stdout}\n${stderr}`);
  return JSON.parse(line.slice("PROBE ".length)) as Probed;
}

beforeAll(() => {
  requireCluster();
  if (!existsSync(MANIFEST))
    throw new Error(`${MANIFEST} is missing; build the test images and registry with: sudo bash test/cluster/images.sh`);
  manifest = JSON.parse(readFileSync(MANIFEST, "utf8")) as Manifest;
  // The marker is the image's alone: seen in a job, the job ran in the image.
  expect(existsSync(manifest.marker.file), `${manifest.marker.file} must not exist on the host`).toBe(false);
  cancelAll();
  const seconds = pullAndConvert();
  console.log(`ch-image pull + ch-convert (squash and dir) as alice: ${seconds.toFixed(1)} s`);
  const probe = spawnSync("runuser", ["-u", "alice", "--", "bash", "-c", `cat > ${workDir("alice")}/ch-probe.py`], {
    input: PROBE,
    encoding: "utf8",
  });
  expect(probe.status, probe.stderr).toBe(0);
}, 300_000);
afterAll(() => cancelAll());

describe("Jupyter in a SquashFS image made by ch-image pull and ch-convert", () => {
  let result: JupyterResult;
  afterAll(() => cancelAll());

  it("hpcjob jupyter prints a tunnel that reaches the Jupyter running inside the image", async () => {
    const r = hpcjob("alice", ["jupyter", ...CLUSTER, "--image", SQFS, "--json", "--timeout", "2m"], ENV);
    expect(r.status, r.stderr).toBe(0);
    result = JSON.parse(r.stdout) as JupyterResult;
    expect(result.node).toBe(NODE);
    expect(result.tunnel).toBe(`ssh -N -L ${result.port}:${NODE}:${result.port} -p 2222 alice@127.0.0.1`);

    await throughTunnel("alice", result.tunnel, result.port, result.token, async (api) => {
      expect((await fetch(`${api}?token=${result.token}`)).status).toBe(200);
      expect((await fetch(`${api}?token=wrong`)).status).toBe(403);
      // Jupyter serves the job's folder (under $HOME, mounted by ch-run --home): it lists the files there.
      const contents = await fetch(`http://127.0.0.1:${result.port}/api/contents?token=${result.token}`);
      expect(contents.status).toBe(200);
      const names = ((await contents.json()) as { content: { name: string }[] }).content.map((c) => c.name);
      expect(names).toContain("ch-probe.py");
    });
  }, 120_000);

  it("the server is the image's: it sees the marker, the image's ENV and the token through its environment; connection.json is beside the script", () => {
    const server = processesWith(`--port=${result.port}`).filter((p) => !p.argv[0]?.endsWith("ch-run"));
    expect(server.length, JSON.stringify(server)).toBeGreaterThan(0);
    const pid = (server[0] as { pid: number }).pid;
    // /proc/PID/root is the process's own root: the image, as ch-run set it up. Read as alice: the
    // SquashFS is her FUSE mount, which no other user (root included) may enter.
    const marker = runAs("alice", ["cat", `/proc/${pid}/root${manifest.marker.file}`]);
    expect(marker.stdout.trim(), marker.stderr).toBe(manifest.marker.text);
    const environ = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    expect(environ).toContain(`${manifest.marker.envName}=jupyter`);
    expect(environ).toContain(`JUPYTER_TOKEN=${result.token}`);
    expect(environ).toContain(`HOME=${HOME}`);
    // ch-run ran with no value on its command line, the token least of all.
    const chRun = processesWith(`--port=${result.port}`).find((p) => p.argv[0]?.endsWith("ch-run"));
    expect(chRun?.argv.slice(0, 2)).toEqual(["ch-run", "--home"]);
    expect(chRun?.argv.join(" ")).not.toContain(result.token);

    const conn = join(result.runDir, "connection.json");
    expect(statSync(conn).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(conn, "utf8"))).toMatchObject({ node: NODE, port: result.port, token: result.token });
    expect(readFileSync(result.log, "utf8")).not.toContain(result.token);
  });

  it("cancel stops Jupyter and ch-run", async () => {
    const c = hpcjob("alice", ["cancel", result.jobId], ENV);
    expect(c.status, c.stderr).toBe(0);
    await until("the job to end", () => !/RUNNING|COMPLETING/.test(jobState(result.jobId)), 30_000);
    await until("Jupyter and ch-run to be gone", () => processesWith(`--port=${result.port}`).length === 0, 15_000);
  }, 60_000);
});

describe("batch jobs in an image directory made by ch-convert", () => {
  it("pass the arguments unchanged, run in the image with its ENV and PATH, the user's --env winning, and exit with the program's code", () => {
    const args = ["--lr", "3e-4", "a b", `$(touch ${IMAGES}/pwned)`, "", "it's", "*"];
    const text = "$HOME 'quoted' it's: a:$PATH";
    const r = hpcjob(
      "alice",
      [
        "batch",
        ...CLUSTER,
        "--image",
        DIR,
        "--env",
        "PROBE_EXIT=3",
        "--env",
        `PROBE_TEXT=${text}`,
        "--env",
        "LANG=C",
        "--follow",
        "ch-probe.py",
        ...args,
      ],
      ENV,
    );
    const seen = probed(r.stdout, r.stderr);
    expect(seen.args).toEqual(args);
    expect(seen.marker).toBe(manifest.marker.text);
    expect(seen.markerCommand).toBe("/opt/hpcjob/bin/hpcjob-image-marker");
    expect(seen.markerOutput).toBe(manifest.marker.text);
    // The image's ENV applies (ch-run --set-env), and a variable the user sets wins over the image's (LANG=C.UTF-8).
    expect(seen.env).toEqual({ HPCJOB_TEST_IMAGE: "jupyter", LANG: "C", PROBE_TEXT: text });
    expect(seen.cwd).toBe(workDir("alice"));
    expect(existsSync(`${IMAGES}/pwned`)).toBe(false);
    expect(r.stderr).toMatch(/job \d+ ended: FAILED, exit code 3/);
    expect(r.status).toBe(3);
  }, 60_000);

  it("exit 0 is exit 0, and the image's own command runs by name", () => {
    const r = hpcjob("alice", ["batch", ...CLUSTER, "--image", SQFS, "--follow", "--", manifest.marker.command], ENV);
    expect(r.stdout.trim().split("\n")).toContain(manifest.marker.text);
    expect(r.status, r.stderr).toBe(0);
  }, 60_000);

  it("a bind the image has no place for fails the job with ch-run's own words", () => {
    const r = hpcjob("alice", ["batch", ...CLUSTER, "--image", SQFS, "--bind", `${HOME}/work:/no/such/dir`, "--follow", "--", "true"], ENV);
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/ch-run\[\d+\]: error: can't mkdir: .*\/no: Read-only file system/);
  }, 60_000);
});
