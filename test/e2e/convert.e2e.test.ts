/**
 * `hpcjob image convert` end to end on the loopback cluster: alice converts
 * images from the TLS test registry with Debian's real ch-image and
 * ch-convert (the loopback-convert profiles, no stand-in), on the login node
 * and in a Slurm job, and runs a batch job in the file it made. The digest
 * decides: a second run converts nothing, a moved tag converts again, two
 * runs at once convert once, and a failure leaves nothing behind. The
 * Apptainer and enroot stand-ins' converters (which really pull and pack)
 * give a .sif and a .sqsh that jobs run in. Needs
 * test/cluster/install.sh, start.sh and images.sh; fails, never skips,
 * without them.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Converted } from "../../src/commands/imageConvert.js";
import {
  cancelAll,
  type Finished,
  hpcjob,
  jupyterFile,
  markerLink,
  requireCluster,
  STAGE,
  startHpcjob,
  testImages,
  throughTunnel,
  until,
  userEnv,
  workDir,
} from "./harness.js";

const MANIFEST = "/var/cache/hpcjob-test-images/images.json";
const HOME = "/home/alice";
/** The stand-ins first on PATH, as on a cluster with Apptainer or enroot. */
const STANDINS = `${STAGE}/standins`;
/** The profiles' container.imageDir. */
const IMAGES = `${HOME}/images/convert-e2e`;
const RUNS = `${HOME}/.hpcjob/runs`;
/** A 1 MiB file system for the scratch folder of loopback-convert-tiny. */
const TINY = "/tmp/hpcjob-e2e-tiny";

interface Manifest {
  registry: { host: string; caBundle: string };
  marker: { file: string; text: string };
  images: Record<"jupyter" | "nojupyter", { ref: string; digest: string }>;
  moving: { ref: string; initially: string; digest: string };
}
let m: Manifest;
let env: Record<string, string>;

/** `hpcjob image convert` as alice; its JSON result (or the failure as it ended). */
function convert(ref: string, cluster = "loopback-convert", more: string[] = []): Finished & { result?: Converted } {
  const r = hpcjob("alice", ["image", "convert", `docker://${ref}`, "--cluster", cluster, "--json", ...more], { env, timeoutMs: 300_000 });
  return { ...r, result: r.status === 0 ? (JSON.parse(r.stdout) as Converted) : undefined };
}

/** The result of a conversion that must have worked. */
function converted(r: Finished & { result?: Converted }): Converted {
  if (!r.result) throw new Error(`image convert failed (${r.status}):\n${r.stderr}`);
  return r.result;
}

/** The conversion run directories alice has. */
function convertRuns(): string[] {
  // NAME-2, NAME-3 ...: the run directories of conversions started in the same second (runs/store.ts).
  return existsSync(RUNS) ? readdirSync(RUNS).filter((d) => /-convert(-\d+)?$/.test(d)) : [];
}

/** The files in the image folder (with the records and locks, and anything partial). */
function imageFolder(): string[] {
  return existsSync(IMAGES) ? readdirSync(IMAGES).sort() : [];
}

/** Point the registry's lab/moving:1 at another image (what `docker push` to the same tag does). */
function moveTag(fromRef: string) {
  execFileSync("skopeo", ["copy", "-q", "--retry-times", "2", `docker://${fromRef}`, `docker://${m.moving.ref}`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
}

beforeAll(() => {
  requireCluster();
  m = JSON.parse(readFileSync(MANIFEST, "utf8")) as Manifest;
  // hpcjob trusts the test CA through Node's NODE_EXTRA_CA_CERTS; ch-image through REQUESTS_CA_BUNDLE.
  env = { PATH: "/usr/local/bin:/usr/bin:/bin", NODE_EXTRA_CA_CERTS: m.registry.caBundle, REQUESTS_CA_BUNDLE: m.registry.caBundle };
  spawnSync("rm", ["-rf", IMAGES, "/var/tmp/alice.ch", "/var/tmp/alice.hpcjob.ch"]);
  // What ch-run leaves after running a SquashFS image: its mount folder where ch-image's storage would be.
  mkdirSync("/var/tmp/alice.ch/mnt", { recursive: true });
  execFileSync("chown", ["-R", "alice:alice", "/var/tmp/alice.ch"]);
  mkdirSync(`${HOME}/work`, { recursive: true });
});

afterAll(() => {
  cancelAll();
  spawnSync("umount", [TINY]);
});

describe("hpcjob image convert with the real ch-image", () => {
  let first: Converted;

  it("converts a tag into a SquashFS named by registry, name, tag and digest, recorded beside it; a batch job runs in it", () => {
    const before = convertRuns();
    const r = convert(m.images.jupyter.ref);
    first = converted(r);
    const stem = `127.0.0.1_5443+lab+jupyter+1+${m.images.jupyter.digest.slice("sha256:".length, "sha256:".length + 12)}`;
    expect(first).toMatchObject({ file: `${IMAGES}/${stem}.sqfs`, digest: m.images.jupyter.digest, upToDate: false });
    expect(first.jobId).toBeUndefined();
    expect(existsSync(first.file)).toBe(true);
    // Readable by the group (a lab's shared image folder), as are the record and the folder.
    for (const path of [first.file, `${first.file}.json`, IMAGES]) expect(statSync(path).mode & 0o040, path).toBe(0o040);
    const record = JSON.parse(readFileSync(`${first.file}.json`, "utf8"));
    expect(record).toMatchObject({ ref: `docker://${m.images.jupyter.ref}`, digest: m.images.jupyter.digest, platform: "linux/amd64" });
    expect(record.converter).toMatch(/^ch-image \d/);
    expect(record.size).toBeGreaterThan(1_000_000);
    // Only the file, its record and its lock: nothing partial.
    expect(imageFolder()).toEqual([`${stem}.sqfs`, `${stem}.sqfs.json`, `${stem}.sqfs.lock`]);
    // The script and its log stay in a new run directory.
    expect(convertRuns().length).toBe(before.length + 1);
    const log = readFileSync(join(first.runDir ?? "", "job.log"), "utf8");
    expect(existsSync(join(first.runDir ?? "", "job.sbatch"))).toBe(true);
    // ch-run's mount folder is not taken for ch-image's storage (ch-image would refuse it).
    expect(log).toContain("/var/tmp/alice.ch is not ch-image storage (ch-run's mount folder?); using /var/tmp/alice.hpcjob.ch");
    expect(log).toContain(`hpcjob: converted: ${first.file}`);
    expect(log.trim().split("\n").pop()).toBe("hpcjob: the program exited with code 0");

    const job = hpcjob("alice", ["batch", "--cluster", "loopback-convert", "--image", first.file, "--follow", "--", "cat", m.marker.file], {
      env,
      timeoutMs: 120_000,
    });
    expect(job.stderr).toContain("ended: COMPLETED, exit code 0");
    expect(job.stdout).toContain(m.marker.text);
  }, 300_000);

  it("finds an image converted before with one registry request: up to date, nothing run, no run directory", () => {
    const before = convertRuns();
    const again = converted(convert(m.images.jupyter.ref));
    expect(again).toEqual({ file: first.file, ref: `docker://${m.images.jupyter.ref}`, digest: m.images.jupyter.digest, upToDate: true });
    expect(convertRuns()).toEqual(before);
  });

  it("converts a tag again once it names new content, and keeps the file of the old content", () => {
    const old = converted(convert(m.moving.ref));
    expect(old.digest).toBe(m.moving.digest);
    try {
      moveTag(m.images.jupyter.ref);
      const moved = converted(convert(m.moving.ref));
      expect(moved.upToDate).toBe(false);
      expect(moved.digest).toBe(m.images.jupyter.digest);
      expect(moved.file).not.toBe(old.file);
      expect(existsSync(old.file) && existsSync(moved.file)).toBe(true);
      expect(converted(convert(m.moving.ref)).upToDate).toBe(true);
    } finally {
      moveTag(`${m.registry.host}/lab/${m.moving.initially}:1`);
    }
  }, 300_000);

  it("refuses a tag the registry does not have with the registry's own words, and leaves nothing", () => {
    const runs = convertRuns();
    const files = imageFolder();
    const r = convert(`${m.registry.host}/lab/jupyter:no-such-tag`);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("MANIFEST_UNKNOWN: manifest unknown");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(convertRuns()).toEqual(runs);
    expect(imageFolder()).toEqual(files);
  });

  it("converts an image once when two conversions of it start together", async () => {
    const runs = convertRuns();
    const args = ["image", "convert", `docker://${m.images.nojupyter.ref}`, "--cluster", "loopback-convert", "--json"];
    const both = [startHpcjob("alice", args, { env }), startHpcjob("alice", args, { env })];
    const codes = await Promise.all(both.map((b) => b.done));
    expect(codes, both.map((b) => b.stderr()).join("\n")).toEqual([0, 0]);
    const results = both.map((b) => JSON.parse(b.stdout()) as Converted);
    expect(results[0]?.file).toBe(results[1]?.file);
    expect(existsSync(results[0]?.file ?? "")).toBe(true);
    // Of the run directories they made, exactly one log says it converted.
    const logs = convertRuns()
      .filter((d) => !runs.includes(d))
      .map((d) => readFileSync(join(RUNS, d, "job.log"), "utf8"));
    expect(logs.filter((l) => l.includes("hpcjob: converted:")).length).toBe(1);
    expect(imageFolder().filter((f) => f.includes(".part-"))).toEqual([]);
  }, 300_000);

  it("Ctrl-C during a conversion (the terminal signals hpcjob and the converter) leaves nothing partial and the old file as it was", async () => {
    const before = imageFolder();
    const old = before.find((f) => f.includes("+lab+nojupyter+1+") && f.endsWith(".sqfs"));
    expect(old, before.join(" ")).toBeDefined();
    const oldSize = readFileSync(`${IMAGES}/${old}`).length;
    // A process group of its own, as a terminal's foreground job: Ctrl-C reaches all of it.
    const vars = Object.entries(userEnv("alice", env)).map(([k, v]) => `${k}=${v}`);
    const args = ["image", "convert", `docker://${m.images.nojupyter.ref}`, "--cluster", "loopback-convert", "--force"];
    const child = spawn("runuser", ["-u", "alice", "--", "env", "-i", ...vars, "node", `${STAGE}/bin/hpcjob.cjs`, ...args], {
      cwd: workDir("alice"),
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    child.stderr?.on("data", (d) => {
      err += d;
    });
    const done = new Promise<number>((ok) => child.on("close", (code, sig) => ok(code ?? (sig ? 128 : -1))));
    await until("the conversion to start writing", () => imageFolder().some((f) => f.includes(".part-")), 60_000, 100);
    process.kill(-(child.pid ?? 0), "SIGINT");
    expect(await done, err).toBe(130);
    expect(err).toMatch(/hpcjob: interrupted while converting docker:\/\/127\.0\.0\.1:5443\/lab\/nojupyter:1; nothing was left in /);
    expect(imageFolder()).toEqual(before);
    expect(readFileSync(`${IMAGES}/${old}`).length).toBe(oldSize);
  }, 120_000);

  it("stops before downloading when the scratch folder has no room, naming the profile key to change, and leaves nothing", () => {
    mkdirSync(TINY, { recursive: true });
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m,mode=1777", "tmpfs", TINY]);
    const files = imageFolder();
    const r = convert(m.images.nojupyter.ref, "loopback-convert-tiny", ["--force"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/converting docker:\/\/127\.0\.0\.1:5443\/lab\/nojupyter:1 failed \(exit 1\); nothing was left in /);
    expect(r.stderr).toMatch(
      /\/tmp\/hpcjob-e2e-tiny has 1 MiB free and converting docker:\/\/\S+ needs about \d+ MiB there; free some space or point the profile's container\.tmpDir at a larger folder/,
    );
    expect(r.stderr).not.toContain("exited with code");
    expect(imageFolder()).toEqual(files);
  });
});

describe("hpcjob image convert in a Slurm job (convertOn: job)", () => {
  it("submits the conversion to the profile's partition, waits for it with the job watcher, and gives the file", () => {
    const r = convert(m.images.jupyter.ref, "loopback-convert-job", ["--force"]);
    const job = converted(r);
    expect(job.jobId).toMatch(/^\d+$/);
    expect(job.upToDate).toBe(false);
    expect(r.stderr).toContain(`submitted job ${job.jobId}`);
    expect(r.stderr).toContain("in a Slurm job in partition cpu");
    // Progress while it runs: the converter's last log line, at most every 5 s.
    expect(r.stderr).toMatch(new RegExp(`hpcjob: job ${job.jobId}: \\S`));
    const dir = job.runDir ?? "";
    expect(readFileSync(join(dir, "job.id"), "utf8").trim()).toBe(job.jobId);
    const script = readFileSync(join(dir, "job.sbatch"), "utf8");
    expect(script).toContain("#SBATCH --partition=cpu");
    expect(script).toContain(`#SBATCH --output=${dir}/job.log`);
    expect(readFileSync(join(dir, "job.log"), "utf8")).toContain(`hpcjob: converted: ${job.file}`);
    const state = spawnSync("scontrol", ["show", "job", job.jobId ?? ""], { encoding: "utf8" }).stdout;
    expect(state).toMatch(/JobName=hpcjob-convert\b/);
    expect(state).toMatch(/JobState=COMPLETED\b/);
    const record = JSON.parse(readFileSync(`${job.file}.json`, "utf8"));
    expect(record.digest).toBe(m.images.jupyter.digest);
  }, 300_000);
});

describe("hpcjob image convert with the Apptainer and enroot stand-ins", () => {
  it.each([
    ["loopback-convert-sif", ".sif", "apptainer"],
    ["loopback-convert-sqsh", ".sqsh", "enroot"],
  ])(
    "%s: converts into a %s with %s, and a batch job runs in it",
    (cluster, ext, tool) => {
      // enroot's curl trusts the test CA through SSL_CERT_FILE.
      const withStandins = { ...env, PATH: `${STANDINS}:${env.PATH}`, SSL_CERT_FILE: m.registry.caBundle };
      const r = hpcjob("alice", ["image", "convert", `docker://${m.images.nojupyter.ref}`, "--cluster", cluster, "--json"], {
        env: withStandins,
        timeoutMs: 300_000,
      });
      const done = converted({ ...r, result: r.status === 0 ? (JSON.parse(r.stdout) as Converted) : undefined });
      expect(done.file.endsWith(ext)).toBe(true);
      expect(done.upToDate).toBe(false);
      const record = JSON.parse(readFileSync(`${done.file}.json`, "utf8"));
      expect(record.converter.toLowerCase()).toContain(tool);
      const job = hpcjob("alice", ["batch", "--cluster", cluster, "--image", done.file, "--follow", "--", "cat", m.marker.file], {
        env: withStandins,
        timeoutMs: 120_000,
      });
      expect(job.stderr).toContain("ended: COMPLETED, exit code 0");
      expect(job.stdout).toContain(m.marker.text);
    },
    300_000,
  );
});

describe("jupyter and batch --image docker://: converted first (or found), then run", () => {
  /** The stand-ins' environment (enroot's curl trusts the test CA through SSL_CERT_FILE). */
  const standins = () => ({ ...env, PATH: `${STANDINS}:${env.PATH}`, SSL_CERT_FILE: m.registry.caBundle });
  /** request.json of a run. */
  const record = (runDir: string) => JSON.parse(readFileSync(join(runDir, "request.json"), "utf8"));
  /** How request.json records a docker:// reference of the test registry (HOST:PORT/lab/NAME:TAG). */
  const refOf = (ref: string) => {
    const [, registry, path, tag] = /^([^/]+)\/(.+):([^:/]+)$/.exec(ref) ?? [];
    return { kind: "docker", registry, path, tag };
  };

  it("jupyter converts the image on the cluster first, then Jupyter runs inside it (a file only the image has, through the tunnel)", async () => {
    const marker = markerLink("alice", testImages("alice"));
    const r = hpcjob(
      "alice",
      ["jupyter", "--cluster", "loopback-convert-sif", "--image", `docker://${m.images.jupyter.ref}`, "--json", "--timeout", "3m"],
      { env: standins(), timeoutMs: 300_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`converting docker://${m.images.jupyter.ref} (${m.images.jupyter.digest}) on the login node`);
    const result = JSON.parse(r.stdout) as { jobId: string; port: number; token: string; tunnel: string; runDir: string };
    try {
      const ran = record(result.runDir);
      expect(ran.request).toMatchObject({ imageRef: refOf(m.images.jupyter.ref), imageDigest: m.images.jupyter.digest });
      expect(ran.request.image).toMatch(new RegExp(`^${IMAGES}/127\\.0\\.0\\.1_5443\\+lab\\+jupyter\\+1\\+[0-9a-f]{12}\\.sif$`));
      expect(existsSync(ran.request.image)).toBe(true);
      await throughTunnel("alice", result.tunnel, result.port, result.token, async (api) => {
        expect(await jupyterFile(api, result.token, marker)).toBe(`${m.marker.text}\n`);
      });
    } finally {
      hpcjob("alice", ["cancel", result.jobId], { env });
    }
  }, 300_000);

  it("batch finds an image converted before (one line says which file) and runs in it; request.json has the ref and digest", () => {
    const r = hpcjob(
      "alice",
      [
        "batch",
        "--cluster",
        "loopback-convert-sqsh",
        "--image",
        `docker://${m.images.nojupyter.ref}`,
        "--follow",
        "--",
        "cat",
        m.marker.file,
      ],
      { env: standins(), timeoutMs: 120_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      new RegExp(`image docker://${m.images.nojupyter.ref} \\(${m.images.nojupyter.digest}\\) is ${IMAGES}/\\S+\\.sqsh`),
    );
    expect(r.stderr).not.toContain("converting");
    expect(r.stdout).toContain(m.marker.text);
    const runDir = /run directory (\S+)/.exec(r.stderr)?.[1] ?? "";
    expect(record(runDir).request).toMatchObject({ imageRef: refOf(m.images.nojupyter.ref), imageDigest: m.images.nojupyter.digest });
  }, 180_000);

  it("rerun runs the digest the run ran after its tag moved (saying so), converting that digest again when its file is gone", () => {
    const probe = ["--", "sh", "-c", "test -e /usr/bin/jupyter && echo has-jupyter || echo no-jupyter"];
    const first = hpcjob(
      "alice",
      ["batch", "--cluster", "loopback-convert-sqsh", "--image", `docker://${m.moving.ref}`, "--json", ...probe],
      {
        env: standins(),
        timeoutMs: 300_000,
      },
    );
    expect(first.status, first.stderr).toBe(0);
    const run = JSON.parse(first.stdout) as { jobId: string; runDir: string };
    const logs = (jobId: string) => hpcjob("alice", ["logs", "-f", jobId], { env, timeoutMs: 120_000 });
    expect(logs(run.jobId).stdout).toContain("no-jupyter");
    const ran = record(run.runDir).request;
    expect(ran.imageDigest).toBe(m.moving.digest);
    try {
      moveTag(m.images.jupyter.ref);
      rmSync(ran.image);
      const r = hpcjob("alice", ["rerun", run.jobId, "--json"], { env: standins(), timeoutMs: 300_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain(
        `warning: docker://${m.moving.ref} names ${m.images.jupyter.digest} now; the rerun runs ${m.moving.digest}, as the run did (${ran.image})`,
      );
      expect(r.stderr).toContain(`converting docker://${m.moving.ref}@${m.moving.digest} (${m.moving.digest})`);
      const again = JSON.parse(r.stdout) as { jobId: string; runDir: string };
      expect(record(again.runDir).request).toEqual(ran);
      const script = (dir: string) => readFileSync(join(dir, "job.sbatch"), "utf8");
      expect(script(again.runDir)).toBe(script(run.runDir).replaceAll(run.runDir, again.runDir));
      const out = logs(again.jobId);
      expect(out.status, out.stderr).toBe(0);
      expect(out.stdout).toContain("no-jupyter");
    } finally {
      moveTag(`${m.registry.host}/lab/${m.moving.initially}:1`);
    }
  }, 600_000);

  it("a dry run names the file the image's digest converts to, and converts nothing", () => {
    const runs = convertRuns();
    const r = hpcjob(
      "alice",
      ["batch", "--cluster", "loopback-convert-sqsh", "--image", `docker://${m.images.jupyter.ref}`, "--dry-run", "--", "true"],
      {
        env: standins(),
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\+lab\+jupyter\+1\+[0-9a-f]{12}\.sqsh/);
    expect(r.stderr).toContain(`converted from docker://${m.images.jupyter.ref} first if it is not there`);
    expect(convertRuns()).toEqual(runs);
  });
});
