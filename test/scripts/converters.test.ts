/**
 * The converter stand-ins: `apptainer build` (test/standins/lib/apptainer-build.sh)
 * and `enroot import` (lib/enroot-import.sh) make REAL files from the real
 * test registry, archives and podman's store, and the runtime stand-ins then
 * run them. Every converter runs as alice (setpriv) with an environment
 * given in full; the blob caches live for the whole file, so each image is
 * downloaded once per run.
 * Needs: sudo bash test/cluster/install.sh && sudo bash test/cluster/images.sh
 * (the registry on 127.0.0.1:5443); runs as root (mounts a small tmpfs, moves
 * the registry's lab/moving:1 tag and puts it back). Run it under
 * `flock /tmp/hpcjob-e2e.lock`: it moves a tag other suites read.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STANDINS } from "../helpers.js";

const MANIFEST = process.env.HPCJOB_IMAGES_JSON ?? "/var/cache/hpcjob-test-images/images.json";
const USER = "alice";
const BUILD_TIMEOUT = 300_000;

interface Image {
  ref: string;
  digest: string;
  env: string[];
  dockerArchive: string;
  oci: { ref: string };
}
let registry = "";
let caBundle = "";
let marker = "";
let nojupyter: Image;
let movingRepo = "";

/**
 * The test's folders (all alice's): a fresh HOME for the converters, the
 * per-run blob caches, the temporary folders, where the files are written,
 * the runtime stand-ins' extractions, and podman's own HOME and runtime
 * folder (podman plays the Docker daemon; its store stays out of alice's home).
 */
let ws = "";
const dir = (name: string) => join(ws, name);
let small = "";
let mounted = false;
let moved = false;

beforeAll(() => {
  if (!existsSync(MANIFEST)) throw new Error(`${MANIFEST} is missing: sudo bash test/cluster/images.sh builds the real test images`);
  const need = "command -v setpriv skopeo umoci mksquashfs unsquashfs siftool zstd curl jq podman ch-run";
  if (spawnSync("sh", ["-c", need]).status !== 0)
    throw new Error(`these are needed: ${need.slice(11)} (sudo bash test/cluster/install.sh)`);
  const m = JSON.parse(readFileSync(MANIFEST, "utf8"));
  registry = m.registry.host;
  caBundle = m.registry.caBundle;
  marker = m.marker.text;
  nojupyter = m.images.nojupyter;
  movingRepo = m.moving.repository;
  if (registryDigest(movingRepo) !== nojupyter.digest) {
    throw new Error(`${registry}/${movingRepo}:1 does not name lab/nojupyter:1: sudo bash test/cluster/images.sh puts it back`);
  }
  ws = mkdtempSync("/tmp/hpcjob-converters-");
  for (const d of [
    "home",
    "e-home",
    "out",
    "a-cache",
    "a-tmp",
    "e-cache",
    "e-tmp",
    "standin-cache",
    "run-home",
    "pod-home",
    "pod-run",
    "small",
  ])
    mkdirSync(dir(d));
  // An OCI archive of nojupyter (what `docker buildx --output type=oci` or `skopeo copy ... oci-archive:` write).
  execFileSync("skopeo", ["copy", "-q", nojupyter.oci.ref, `oci-archive:${dir("nojupyter-oci.tar")}:lab/nojupyter:1`]);
  execFileSync("chown", ["-R", `${USER}:${USER}`, ws]);
  chmodSync(ws, 0o755);
  chmodSync(dir("pod-run"), 0o700);
  // The image the "laptop's Docker" has: loaded into podman's store.
  const load = alice(["podman", "load", "-q", "-i", nojupyter.dockerArchive], { env: podman() });
  expect(load.stderr.replace(/.*is not a shared mount.*\n/g, "")).toBe("");
  expect(load.status).toBe(0);
  // A 30 MB file system: too small for any image.
  small = dir("small");
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=30m,mode=1777", "tmpfs", small]);
  mounted = true;
}, 120_000);

afterAll(() => {
  if (moved) moveTag(nojupyter);
  if (mounted) spawnSync("umount", [small]);
  // podman's pause process for this runtime folder (it ignores SIGTERM).
  const pause = join(ws, "pod-run", "libpod", "tmp", "pause.pid");
  if (ws && existsSync(pause)) {
    const pid = Number(readFileSync(pause, "utf8"));
    if (pid > 1) spawnSync("kill", ["-KILL", String(pid)]);
  }
  if (ws) rmSync(ws, { recursive: true, force: true });
});

/** The environment of each run: a login's, the stand-ins first on PATH, the test CA for enroot's curl (as a site's enroot.conf sets SSL_CERT_FILE). */
function baseEnv(): Record<string, string> {
  return {
    HOME: dir("home"),
    USER,
    LOGNAME: USER,
    PATH: `${STANDINS}:/usr/local/bin:/usr/bin:/bin`,
    LANG: "C.UTF-8",
    SSL_CERT_FILE: caBundle,
    HPCJOB_STANDIN_CACHE: dir("standin-cache"),
  };
}
/** podman's HOME and runtime folder (its store and pause process are the test's own). */
const podman = () => ({ HOME: dir("pod-home"), XDG_RUNTIME_DIR: dir("pod-run") });
/** Apptainer's cache and temporary folders for this run. */
const apptainerDirs = () => ({ APPTAINER_CACHEDIR: dir("a-cache"), APPTAINER_TMPDIR: dir("a-tmp") });
/** enroot's cache and temporary folders for this run. */
const enrootDirs = () => ({ HOME: dir("e-home"), ENROOT_CACHE_PATH: dir("e-cache"), ENROOT_TEMP_PATH: dir("e-tmp") });

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** argv as alice with exactly baseEnv() + env (null removes a variable). */
function alice(argv: string[], opts: { env?: Record<string, string | null>; cwd?: string } = {}): Run {
  const all: Record<string, string | null> = { ...baseEnv(), ...opts.env };
  const pairs = Object.entries(all)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${v}`);
  const r = spawnSync("setpriv", [`--reuid=${USER}`, `--regid=${USER}`, "--init-groups", "--", "env", "-i", ...pairs, ...argv], {
    cwd: opts.cwd ?? dir("out"),
    encoding: "utf8",
    input: "",
    timeout: BUILD_TIMEOUT,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** What the image shows from inside: its marker file, its ENV (HPCJOB_TEST_IMAGE), whether it has Jupyter. */
const INSIDE = `cat /etc/hpcjob-test-image; echo "image=\${HPCJOB_TEST_IMAGE-unset}"; command -v jupyter >/dev/null && echo jupyter || echo no-jupyter`;
const inside = (name: "jupyter" | "nojupyter") => `${marker}\nimage=${name}\n${name === "jupyter" ? "jupyter" : "no-jupyter"}\n`;

/** Run a script (INSIDE by default) in a converted file with the runtime stand-in that reads it. */
function runIn(file: string, script = INSIDE, how: "apptainer" | "enroot" | "pyxis" = file.endsWith(".sif") ? "apptainer" : "enroot"): Run {
  const argv = {
    apptainer: ["apptainer", "exec", file],
    enroot: ["enroot", "start", file],
    pyxis: ["srun", `--container-image=${file}`],
  }[how];
  return alice([...argv, "sh", "-c", script], { env: { HOME: dir("run-home") } });
}

/** The SIF's descriptors (siftool list). */
const sifList = (file: string) => execFileSync("siftool", ["list", file], { encoding: "utf8" });
/** Files (not folders) under a folder, relative, sorted. */
function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), join(rel, e.name));
      else out.push(join(rel, e.name));
    }
  };
  if (existsSync(root)) walk(root, "");
  return out.sort();
}
/** Everything under a folder, relative, folders with a trailing "/". */
function entriesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      out.push(join(rel, e.name) + (e.isDirectory() ? "/" : ""));
      if (e.isDirectory()) walk(join(d, e.name), join(rel, e.name));
    }
  };
  if (existsSync(root)) walk(root, "");
  return out.sort();
}

/** The registry's digest for REPO:1 (HEAD, every manifest type accepted). */
function registryDigest(repo: string): string {
  const r = spawnSync(
    "curl",
    [
      "-sSfI",
      "--cacert",
      caBundle || "/var/cache/hpcjob-test-images/ca/ca-bundle.crt",
      "-H",
      "Accept: application/vnd.docker.distribution.manifest.v2+json",
      "-H",
      "Accept: application/vnd.oci.image.manifest.v1+json",
      `https://${registry || "127.0.0.1:5443"}/v2/${repo}/manifests/1`,
    ],
    { encoding: "utf8" },
  );
  return /docker-content-digest:\s*(\S+)/i.exec(r.stdout)?.[1] ?? "";
}
/** Point lab/moving:1 at IMAGE (what `docker push` of another image to the same tag does). */
function moveTag(image: Image): void {
  execFileSync("skopeo", ["copy", "-q", `docker://${image.ref}`, `docker://${registry}/${movingRepo}:1`]);
  expect(registryDigest(movingRepo)).toBe(image.digest);
  moved = image !== nojupyter;
}
/**
 * Push to lab/moving:1 (what `docker push` of a rebuilt image does) nojupyter
 * plus a layer that deletes /usr/share/common-licenses (a whiteout) and adds
 * /etc/hpcjob-moved, with HPCJOB_TEST_IMAGE=moved; returns its digest. Pushed
 * as a Docker schema 2 image, as the test images are: Distribution answers
 * enroot's first request (a HEAD with no Accept) with 404 for an OCI manifest.
 */
function pushMovedImage(): string {
  const layout = join(ws, "moved-oci");
  const bundle = join(ws, "moved-bundle");
  execFileSync("skopeo", ["copy", "-q", nojupyter.oci.ref, `oci:${layout}:moved`]);
  execFileSync("umoci", ["unpack", "--image", `${layout}:moved`, bundle]);
  rmSync(join(bundle, "rootfs", "usr", "share", "common-licenses"), { recursive: true });
  writeFileSync(join(bundle, "rootfs", "etc", "hpcjob-moved"), "moved\n");
  execFileSync("umoci", ["repack", "--image", `${layout}:moved`, bundle]);
  const env = nojupyter.env.map((e) => (e.startsWith("HPCJOB_TEST_IMAGE=") ? "HPCJOB_TEST_IMAGE=moved" : e));
  execFileSync("umoci", ["config", "--image", `${layout}:moved`, "--clear=config.env", ...env.flatMap((e) => ["--config.env", e])]);
  moved = true;
  execFileSync("skopeo", ["copy", "-q", "--format", "v2s2", `oci:${layout}:moved`, `docker://${registry}/${movingRepo}:1`]);
  rmSync(bundle, { recursive: true });
  const digest = registryDigest(movingRepo);
  expect(digest).not.toBe(nojupyter.digest);
  return digest;
}

/** The digest (hex) of an image's only layer, as the registry serves it. */
const layerDigest = (image: Image) =>
  JSON.parse(execFileSync("skopeo", ["inspect", "--raw", `docker://${image.ref}`], { encoding: "utf8" })).layers[0].digest.replace(
    "sha256:",
    "",
  );
/** containers/image's blob-info cache in $HOME (.boltdb in skopeo 1.9's version, .sqlite in Apptainer 1.3's). */
const BLOB_INFO_CACHE = /^\.local\/share\/containers\/cache\/blob-info-cache-v1\.(boltdb|sqlite)$/;

/** Apptainer's cache tag for a registry image: sha256(digest + arch + variant), both empty on amd64 (oci.go). */
const cacheTag = (digest: string) =>
  createHash("sha256")
    .update(digest.replace(/^sha256:/, ""))
    .digest("hex");
const cacheTags = () =>
  (
    JSON.parse(readFileSync(join(dir("a-cache"), "cache", "blob", "index.json"), "utf8")).manifests as {
      annotations: Record<string, string>;
    }[]
  ).map((m) => m.annotations["org.opencontainers.image.ref.name"]);

describe("apptainer build", () => {
  const out = (name: string) => join(dir("out"), name);

  it(
    "docker:// from the registry: a real SIF (a SquashFS system partition) that apptainer exec runs, with the image's files and ENV; blobs in APPTAINER_CACHEDIR under the digest's tag, nothing left in APPTAINER_TMPDIR or $HOME; Apptainer's messages",
    () => {
      const r = alice(["apptainer", "build", "nojupyter.sif", `docker://${nojupyter.ref}`], { env: apptainerDirs() });
      expect(r.stderr).toMatch(
        /^INFO: {4}Starting build\.\.\.\nGetting image source signatures\n(Copying (blob|config) sha256:[0-9a-f]{64}\n)+Writing manifest to image destination\n/,
      );
      expect(r.stderr).toMatch(
        /\n\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d {2}info unpack layer: sha256:[0-9a-f]{64}\nINFO: {4}Creating SIF file\.\.\.\nINFO: {4}Build complete: nojupyter\.sif\n$/,
      );
      expect(r.stdout).toBe("");
      expect(r.status).toBe(0);
      expect(sifList(out("nojupyter.sif"))).toMatch(/Def\.FILE[\s\S]*JSON\.Generic[\s\S]*FS \(Squashfs\/\*System\/amd64\)/);
      expect(statSync(out("nojupyter.sif")).mode & 0o777).toBe(0o755);
      const run = runIn(out("nojupyter.sif"));
      expect(run.stdout).toBe(inside("nojupyter"));
      expect(run.status).toBe(0);
      // The cache: an OCI layout tagged by the registry's digest, with the image's layer; the temporary folder emptied.
      expect(cacheTags()).toContain(cacheTag(nojupyter.digest));
      expect(filesUnder(join(dir("a-cache"), "cache", "blob", "blobs"))).toContain(join("sha256", layerDigest(nojupyter)));
      expect(readdirSync(dir("a-tmp"))).toEqual([]);
      // In $HOME only containers/image's blob-info cache (Apptainer embeds that library; skopeo writes it too).
      expect(filesUnder(dir("home"))).toEqual([expect.stringMatching(BLOB_INFO_CACHE)]);
    },
    BUILD_TIMEOUT,
  );

  it("refuses to overwrite an existing file without --force, with Apptainer's words, and leaves it as it was", () => {
    const before = statSync(out("nojupyter.sif"));
    const r = alice(["apptainer", "build", "nojupyter.sif", `docker://${nojupyter.ref}`], { env: apptainerDirs() });
    expect(r.stderr).toBe(
      "FATAL:   While checking build target: build target 'nojupyter.sif' already exists. Use --force if you want to overwrite it\n",
    );
    expect(r.status).toBe(255);
    const after = statSync(out("nojupyter.sif"));
    expect([after.size, after.mtimeMs, after.ino]).toEqual([before.size, before.mtimeMs, before.ino]);
  });

  it("a missing image fails with the registry's words (exit 255) and leaves nothing: no file, an empty temporary folder", () => {
    const r = alice(["apptainer", "build", "missing.sif", `docker://${registry}/lab/missing:1`], { env: apptainerDirs() });
    expect(r.stderr).toBe(
      `INFO:    Starting build...\nFATAL:   While performing build: conveyor failed to get: while converting reference: reading manifest 1 in ${registry}/lab/missing: manifest unknown: manifest unknown\n`,
    );
    expect(r.status).toBe(255);
    expect(existsSync(out("missing.sif"))).toBe(false);
    expect(readdirSync(dir("a-tmp"))).toEqual([]);
  });

  it("APPTAINER_TMPDIR holds the build: a missing one and a full one fail with Apptainer's messages, leaving nothing", () => {
    const missing = alice(["apptainer", "build", "t.sif", `docker://${nojupyter.ref}`], {
      env: { ...apptainerDirs(), APPTAINER_TMPDIR: join(ws, "no-such-dir") },
    });
    expect(missing.stderr).toBe(
      `FATAL:   Unable to create build: failed to create build parent dir: stat ${join(ws, "no-such-dir")}: no such file or directory\n`,
    );
    expect(missing.status).toBe(255);
    const full = alice(["apptainer", "build", "t.sif", `docker://${nojupyter.ref}`], {
      env: { ...apptainerDirs(), APPTAINER_TMPDIR: small },
    });
    expect(full.stderr).toMatch(
      new RegExp(
        `\\nFATAL: {3}While performing build: conveyor failed to get: while fetching image: .*${small}/bundle-temp-\\d+/.*: no space left on device\\n$`,
      ),
    );
    expect(full.status).toBe(255);
    expect(readdirSync(small)).toEqual([]);
    expect(existsSync(out("t.sif"))).toBe(false);
  });

  it(
    "docker-archive: with --disable-cache: the same image, and no cache folder made (not even in $HOME)",
    () => {
      const r = alice(["apptainer", "build", "--disable-cache", "archive.sif", `docker-archive:${nojupyter.dockerArchive}`], {
        env: { APPTAINER_TMPDIR: dir("a-tmp") },
      });
      expect(r.stderr).not.toMatch(/Copying blob/);
      expect(r.stderr).toMatch(/INFO: {4}Build complete: archive\.sif\n$/);
      expect(r.status).toBe(0);
      expect(runIn(out("archive.sif")).stdout).toBe(inside("nojupyter"));
      expect(filesUnder(dir("home"))).toEqual([expect.stringMatching(BLOB_INFO_CACHE)]);
    },
    BUILD_TIMEOUT,
  );

  it(
    "oci-archive: with Apptainer's default cache, $HOME/.apptainer/cache",
    () => {
      const home = join(ws, "home-default-cache");
      mkdirSync(home);
      execFileSync("chown", [`${USER}:${USER}`, home]);
      const r = alice(["apptainer", "build", "oci.sif", `oci-archive:${dir("nojupyter-oci.tar")}`], {
        env: { HOME: home, APPTAINER_TMPDIR: dir("a-tmp") },
      });
      expect(r.stderr).toMatch(/INFO: {4}Build complete: oci\.sif\n$/);
      expect(r.status).toBe(0);
      expect(runIn(out("oci.sif")).stdout).toBe(inside("nojupyter"));
      expect(readdirSync(join(home, ".apptainer", "cache")).sort()).toEqual(["blob", "library", "net", "oci-tmp", "oras", "shub"]);
      expect(statSync(join(home, ".apptainer", "cache")).mode & 0o777).toBe(0o700);
      expect(filesUnder(join(home, ".apptainer", "cache", "blob"))).toContain("index.json");
    },
    BUILD_TIMEOUT,
  );

  it(
    "docker-daemon: reads the daemon's image (podman plays Docker here); a name the daemon lacks fails with its words",
    () => {
      const r = alice(["apptainer", "build", "daemon.sif", "docker-daemon:lab/nojupyter:1"], { env: { ...apptainerDirs(), ...podman() } });
      expect(r.stderr).toMatch(/INFO: {4}Build complete: daemon\.sif\n$/);
      expect(r.status).toBe(0);
      expect(runIn(out("daemon.sif")).stdout).toBe(inside("nojupyter"));
      const missing = alice(["apptainer", "build", "nope.sif", "docker-daemon:lab/nope:1"], { env: { ...apptainerDirs(), ...podman() } });
      expect(missing.stderr).toMatch(
        /^INFO: {4}Starting build\.\.\.\nFATAL: {3}While performing build: conveyor failed to get: while converting reference: loading image from docker engine: .*lab\/nope:1.*\n$/,
      );
      expect(missing.status).toBe(255);
      expect(existsSync(out("nope.sif"))).toBe(false);
      expect(readdirSync(dir("a-tmp"))).toEqual([]);
    },
    BUILD_TIMEOUT,
  );
});

describe("enroot import", () => {
  const out = (name: string) => join(dir("out"), name);

  it(
    "docker://REGISTRY#IMAGE:TAG -o FILE: a real squashfs (root filesystem + /etc/environment, /etc/rc from the image) that enroot start and pyxis run; blobs in ENROOT_CACHE_PATH, nothing in ENROOT_TEMP_PATH, $HOME only gets enroot's empty data folder; enroot's messages",
    () => {
      const r = alice(["enroot", "import", "-o", out("nojupyter.sqsh"), `docker://${registry}#lab/nojupyter:1`], { env: enrootDirs() });
      expect(r.stderr).toMatch(
        /^\[INFO\] Querying registry for permission grant\n\[INFO\] Permission granted\n\[INFO\] Fetching image manifest list\n\[INFO\] Fetching image manifest\n\[INFO\] Downloading 1 missing layers\.\.\.\n\[INFO\] Extracting image layers\.\.\.\n\[INFO\] Converting whiteouts\.\.\.\n\[INFO\] Creating squashfs filesystem\.\.\.\nParallel mksquashfs/,
      );
      expect(r.stderr).toMatch(/Exportable Squashfs 4\.0 filesystem, lzo compressed[\s\S]*uncompressed data, compressed metadata/);
      expect(r.status).toBe(0);
      const config = JSON.parse(readFileSync(nojupyter.dockerArchive.replace(/\.tar$/, ".config.json"), "utf8")).config;
      const cat = (f: string) => execFileSync("unsquashfs", ["-cat", out("nojupyter.sqsh"), f], { encoding: "utf8" });
      expect(cat("etc/environment")).toBe(`${config.Env.join("\n")}\n`);
      expect(cat("etc/rc")).toMatch(/\nif \[ \$# -gt 0 \]; then\n {4}exec {2}"\$@"\nelse\n {4}exec {2}'python3'\nfi\n$/);
      expect(runIn(out("nojupyter.sqsh"), INSIDE, "enroot").stdout).toBe(inside("nojupyter"));
      expect(runIn(out("nojupyter.sqsh"), INSIDE, "pyxis").stdout).toBe(inside("nojupyter"));
      // The cache: each blob zstd-compressed under its digest (enroot's layout); the temporary folder emptied.
      const layer = layerDigest(nojupyter);
      expect(filesUnder(dir("e-cache"))).toContain(layer);
      const head = execFileSync("sh", ["-c", 'zstd -q -d -c "$1" | head -c 512', "sh", join(dir("e-cache"), layer)]);
      expect(head.subarray(257, 262).toString()).toBe("ustar");
      expect(readdirSync(dir("e-tmp"))).toEqual([]);
      // In $HOME only the empty data folder enroot makes whenever it starts (ENROOT_DATA_PATH's default).
      expect(entriesUnder(dir("e-home"))).toEqual([".local/", ".local/share/", ".local/share/enroot/"]);
    },
    BUILD_TIMEOUT,
  );

  it("refuses an existing output with enroot's words and leaves it as it was", () => {
    const before = statSync(out("nojupyter.sqsh"));
    const r = alice(["enroot", "import", "-o", "nojupyter.sqsh", `docker://${registry}#lab/nojupyter:1`], { env: enrootDirs() });
    expect(r.stderr).toBe(`[ERROR] File already exists: ${out("nojupyter.sqsh")}\n`);
    expect(r.status).toBe(1);
    const after = statSync(out("nojupyter.sqsh"));
    expect([after.size, after.mtimeMs, after.ino]).toEqual([before.size, before.mtimeMs, before.ino]);
  });

  it("a missing image fails with the registry's status as enroot words it, leaving nothing", () => {
    const r = alice(["enroot", "import", "-o", "missing.sqsh", `docker://${registry}#lab/missing:1`], { env: enrootDirs() });
    expect(r.stderr).toBe(
      `[INFO] Querying registry for permission grant\n[ERROR] URL https://${registry}/v2/lab/missing/manifests/1 returned error code: 404 Not Found\n`,
    );
    expect(r.status).toBe(1);
    expect(existsSync(out("missing.sqsh"))).toBe(false);
    expect(readdirSync(dir("e-tmp"))).toEqual([]);
  });

  it("ENROOT_TEMP_PATH holds the layers: a missing one is not made (mktemp's words), a full one fails; nothing left; curl needs the registry's CA (SSL_CERT_FILE)", () => {
    const missing = alice(["enroot", "import", "-o", "t.sqsh", `docker://${registry}#lab/nojupyter:1`], {
      env: { ...enrootDirs(), ENROOT_TEMP_PATH: join(ws, "no-such-dir") },
    });
    // (mktemp quotes the template as the locale says: '...' or ‘...’)
    expect(missing.stderr).toMatch(
      new RegExp(
        `^mktemp: failed to create directory via template ['‘]${join(ws, "no-such-dir")}/enroot\\.XXXXXXXXXX['’]: No such file or directory\\n$`,
      ),
    );
    expect(missing.status).toBe(1);
    expect(existsSync(join(ws, "no-such-dir"))).toBe(false);
    const full = alice(["enroot", "import", "-o", "t.sqsh", `docker://${registry}#lab/nojupyter:1`], {
      env: { ...enrootDirs(), ENROOT_TEMP_PATH: small },
    });
    expect(full.stderr).toMatch(/\[INFO\] Extracting image layers\.\.\.\n[\s\S]*No space left on device/);
    expect(full.status).not.toBe(0);
    expect(readdirSync(small)).toEqual([]);
    expect(existsSync(out("t.sqsh"))).toBe(false);
    const untrusted = alice(["enroot", "import", "-o", "t.sqsh", `docker://${registry}#lab/nojupyter:1`], {
      env: { ...enrootDirs(), SSL_CERT_FILE: null },
    });
    expect(untrusted.stderr).toMatch(
      /^\[INFO\] Querying registry for permission grant\ncurl: \(60\) SSL certificate problem: unable to get local issuer certificate\n/,
    );
    expect(untrusted.status).toBe(60);
    expect(existsSync(out("t.sqsh"))).toBe(false);
  });

  it(
    "dockerd:// (podman plays Docker here): the daemon's image, named as enroot names it in the working folder; podman:// writes it too but exits with its clean-up's failure (enroot 4.1.2 removes the container with docker, not podman)",
    () => {
      const cwd = join(ws, "daemon");
      mkdirSync(cwd);
      execFileSync("chown", [`${USER}:${USER}`, cwd]);
      const env = { ...enrootDirs(), ...podman() };
      const d = alice(["enroot", "import", "dockerd://lab/nojupyter:1"], { env, cwd });
      expect(d.stderr).toMatch(
        /^\[INFO\] Fetching image\n[\s\S]*\[INFO\] Extracting image content\.\.\.\n\[INFO\] Creating squashfs filesystem\.\.\.\n/,
      );
      expect(d.status).toBe(0);
      expect(readdirSync(cwd)).toEqual(["lab+nojupyter+1.sqsh"]);
      expect(runIn(join(cwd, "lab+nojupyter+1.sqsh")).stdout).toBe(inside("nojupyter"));
      const containers = () => alice(["podman", "ps", "-a", "--format", "{{.Names}}"], { env }).stdout.trim();
      expect(containers()).toBe("");
      const p = alice(["enroot", "import", "-o", "podman.sqsh", "podman://lab/nojupyter:1"], { env, cwd });
      expect(p.stderr).toMatch(/\[INFO\] Creating squashfs filesystem\.\.\.\n[\s\S]*Exportable Squashfs 4\.0 filesystem/);
      expect(p.status).not.toBe(0);
      expect(runIn(join(cwd, "podman.sqsh")).stdout).toBe(inside("nojupyter"));
      expect(containers()).toMatch(/^enroot\.[A-Za-z0-9]{10}$/);
      expect(readdirSync(dir("e-tmp"))).toEqual([]);
    },
    BUILD_TIMEOUT,
  );
});

describe("a tag that moved", () => {
  it(
    "gives both converters the new image (its ENV, its new file, the file its whiteout deletes gone), from the cache what did not change; Apptainer caches it under the new digest's tag; the tag is put back",
    () => {
      const cwd = join(ws, "moving");
      mkdirSync(cwd);
      execFileSync("chown", [`${USER}:${USER}`, cwd]);
      const env = { ...apptainerDirs(), ...enrootDirs() };
      const check = `${INSIDE}; cat /etc/hpcjob-moved 2>/dev/null || echo not-moved; test -e /usr/share/common-licenses && echo licenses || echo no-licenses`;
      try {
        expect(alice(["apptainer", "build", "moving.sif", `docker://${registry}/${movingRepo}:1`], { env, cwd }).status).toBe(0);
        // enroot 4 reads REGISTRY/IMAGE as a registry when the first part has a "." or ":"; the default name drops the registry.
        expect(alice(["enroot", "import", `docker://${registry}/${movingRepo}:1`], { env, cwd }).status).toBe(0);
        expect(readdirSync(cwd).sort()).toEqual(["lab+moving+1.sqsh", "moving.sif"]);
        const before = `${inside("nojupyter")}not-moved\nlicenses\n`;
        expect(runIn(join(cwd, "moving.sif"), check).stdout).toBe(before);
        expect(runIn(join(cwd, "lab+moving+1.sqsh"), check).stdout).toBe(before);

        const digest = pushMovedImage();
        const a = alice(["apptainer", "build", "--force", "moving.sif", `docker://${registry}/${movingRepo}:1`], { env, cwd });
        expect(a.stderr).toMatch(/INFO: {4}Build complete: moving\.sif\n$/);
        expect(a.status).toBe(0);
        const e = alice(["enroot", "import", "-o", "moving-2.sqsh", `docker://${registry}#${movingRepo}:1`], { env, cwd });
        expect(e.stderr).toMatch(/\[INFO\] Downloading 1 missing layers\.\.\.\n/);
        expect(e.status).toBe(0);
        const after = `${marker}\nimage=moved\nno-jupyter\nmoved\nno-licenses\n`;
        expect(runIn(join(cwd, "moving.sif"), check).stdout).toBe(after);
        expect(runIn(join(cwd, "moving-2.sqsh"), check).stdout).toBe(after);
        expect(cacheTags()).toEqual(expect.arrayContaining([cacheTag(nojupyter.digest), cacheTag(digest)]));
      } finally {
        moveTag(nojupyter);
      }
    },
    3 * BUILD_TIMEOUT,
  );
});
