/**
 * `hpcjob image ls` and `image rm` end to end on the loopback cluster, as
 * alice, in an image folder of their own (the loopback-imagels profile,
 * ~/images/imagels-e2e): images converted for real from the TLS test
 * registry with the `enroot import` stand-in are listed with their record's
 * digest and reference and their size on disk, on the login node and over
 * SSH; a file copied in by hand is listed after them, partial files and
 * locks are not; rm leaves an image alone while a conversion holds its lock,
 * removes one by a digest prefix with its record and lock, removes both
 * files of a tag converted before and after it moved, and refuses what is
 * not there. Needs test/cluster/install.sh, start.sh and images.sh; fails,
 * never skips, without them.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Finished, hpcjob, requireCluster, runAs, until } from "./harness.js";

const MANIFEST = "/var/cache/hpcjob-test-images/images.json";
const HOME = "/home/alice";
/** The loopback-imagels profile's container.imageDir. */
const IMAGES = `${HOME}/images/imagels-e2e`;
const CLUSTER = ["--cluster", "loopback-imagels"];

interface Manifest {
  registry: { host: string; caBundle: string };
  images: Record<"jupyter" | "nojupyter", { ref: string; digest: string }>;
  moving: { ref: string; initially: string; digest: string };
}
let m: Manifest;
let env: Record<string, string>;

/** What `image ls --json` prints. */
interface Listed {
  cluster: string;
  dir: string;
  images: { name: string; path: string; size?: number; ref?: string; digest?: string; platform?: string; date?: string }[];
}

/** hpcjob image ... as alice on the login node. */
function image(args: string[]): Finished {
  return hpcjob("alice", ["image", ...args, ...CLUSTER], { env, timeoutMs: 300_000 });
}

/** hpcjob image ... as alice over SSH to the login node (127.0.0.1:2222, from the profile). */
function overSsh(args: string[]): Finished {
  return hpcjob("alice", ["image", ...args, ...CLUSTER, "--remote", "127.0.0.1"], { env, timeoutMs: 120_000 });
}

/** `image ls --json`'s result. */
function listed(r = image(["ls", "--json"])): Listed {
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Listed;
}

/** Convert `ref` (without docker://); the file it made. */
function convert(ref: string): string {
  const r = image(["convert", `docker://${ref}`, "--json"]);
  expect(r.status, r.stderr).toBe(0);
  const result = JSON.parse(r.stdout) as { file: string; upToDate: boolean };
  expect(result.upToDate).toBe(false);
  return result.file;
}

/** The names in the image folder, hidden ones too. */
function folder(): string[] {
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
  // hpcjob trusts the test CA through NODE_EXTRA_CA_CERTS, the enroot stand-in's curl through SSL_CERT_FILE.
  env = { NODE_EXTRA_CA_CERTS: m.registry.caBundle, SSL_CERT_FILE: m.registry.caBundle };
  spawnSync("rm", ["-rf", IMAGES]);
  expect(runAs("alice", ["mkdir", "-p", `${HOME}/work`]).status).toBe(0);
});

afterAll(() => {
  spawnSync("rm", ["-rf", IMAGES]);
});

describe("hpcjob image ls and image rm on the loopback cluster", () => {
  let file = "";
  let holder: ChildProcess | undefined;
  afterEach(() => {
    holder?.kill();
    holder = undefined;
  });

  it("a folder no conversion has made yet: one line saying how to convert, exit 0", () => {
    const r = image(["ls"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`no images in ${IMAGES}; convert one with: hpcjob image convert docker://IMAGE:TAG --cluster loopback-imagels\n`);
  });

  it("lists a converted image with its record's digest and reference and its size on disk, as JSON and as a table", () => {
    file = convert(m.images.nojupyter.ref);
    const name = basename(file);
    const { dir, images } = listed();
    expect(dir).toBe(IMAGES);
    expect(images).toEqual([
      {
        name,
        path: file,
        size: statSync(file).size,
        ref: `docker://${m.images.nojupyter.ref}`,
        digest: m.images.nojupyter.digest,
        platform: "linux/amd64",
        converter: expect.stringMatching(/enroot/i),
        date: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      },
    ]);
    const text = image(["ls"]);
    expect(text.status).toBe(0);
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME +SIZE +CONVERTED +DIGEST +IMAGE$/);
    const short = m.images.nojupyter.digest.slice("sha256:".length, "sha256:".length + 12);
    expect(lines[1]?.split(/ {2,}/)).toEqual([
      name,
      expect.stringMatching(/^\d+(\.\d)? (KiB|MiB)$/),
      images[0]?.date,
      short,
      `docker://${m.images.nojupyter.ref}`,
    ]);
    expect(lines[2]).toMatch(new RegExp(`^1 image, \\S+ \\S+ in ${IMAGES}; run one with --image ${IMAGES}/NAME$`));
  }, 300_000);

  it("lists a file copied in by hand after the converted ones, with '-'; not a partial file or a lock", () => {
    expect(runAs("alice", ["dd", "if=/dev/zero", `of=${IMAGES}/hand.sqsh`, "bs=1024", "count=4", "status=none"]).status).toBe(0);
    expect(runAs("alice", ["touch", `${IMAGES}/.${basename(file, ".sqsh")}.part-999.sqsh`, `${IMAGES}/other.sqsh.lock`]).status).toBe(0);
    const { images } = listed();
    expect(images.map((i) => i.name)).toEqual([basename(file), "hand.sqsh"]);
    expect(images[1]).toEqual({ name: "hand.sqsh", path: `${IMAGES}/hand.sqsh`, size: 4096 });
    expect(image(["ls"]).stdout).toMatch(/\nhand\.sqsh +4\.0 KiB +- +- +-\n/);
  });

  it("over SSH lists the same", () => {
    expect(listed(overSsh(["ls", "--json"]))).toEqual(listed());
  });

  it("rm leaves an image alone while a conversion holds its lock: exit 1, saying so", async () => {
    const lock = `${file}.lock`;
    expect(existsSync(lock)).toBe(true);
    // A conversion's hold on the lock: sleep with it (-F: killing sleep frees it).
    holder = spawn("flock", ["-F", lock, "sleep", "120"], { stdio: "ignore" });
    await until("the lock to be held", () => spawnSync("flock", ["-n", lock, "true"]).status === 1, 10_000, 50);
    const before = folder();
    const short = m.images.nojupyter.digest.slice("sha256:".length, "sha256:".length + 12);
    const r = image(["rm", short]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `hpcjob: ${basename(file)} is being converted right now (its lock is held); nothing was removed: run hpcjob image rm again once the conversion is done\n`,
    );
    expect(folder()).toEqual(before);
  });

  it("rm by a digest prefix removes the file, its record and its lock", () => {
    const short = m.images.nojupyter.digest.slice("sha256:".length, "sha256:".length + 12);
    const r = image(["rm", short, "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const done = JSON.parse(r.stdout) as { dir: string; what: string; removed: { path: string; digest: string }[] };
    expect(done.what).toBe(`sha256:${short}`);
    expect(done.removed.map((i) => [i.path, i.digest])).toEqual([[file, m.images.nojupyter.digest]]);
    for (const f of [file, `${file}.json`, `${file}.lock`]) expect(existsSync(f)).toBe(false);
    expect(listed().images.map((i) => i.name)).toEqual(["hand.sqsh"]);
  });

  it("rm of a tag converted before and after it moved removes both files, and says so", () => {
    let old = "";
    let moved = "";
    try {
      old = convert(m.moving.ref);
      moveTag(m.images.jupyter.ref);
      moved = convert(m.moving.ref);
    } finally {
      moveTag(`${m.registry.host}/lab/${m.moving.initially}:1`);
    }
    expect(moved).not.toBe(old);
    const ref = `docker://${m.moving.ref}`;
    expect(
      listed()
        .images.filter((i) => i.ref === ref)
        .map((i) => i.path),
    ).toEqual([moved, old]);
    const r = image(["rm", ref]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(new RegExp(`^${ref.replaceAll(".", "\\.")} named 2 images in ${IMAGES}; removed them all \\(2 images, `));
    expect(lines.slice(1).map((l) => l.trim().split(/ {2,}/)[0])).toEqual([basename(moved), basename(old)]);
    expect(folder().filter((n) => n.includes("+moving+"))).toEqual([]);
  }, 600_000);

  it("rm of what is not there, or of a file outside the folder: one line, exit 2, nothing removed", () => {
    const before = folder();
    const missing = image(["rm", "docker://127.0.0.1:5443/lab/jupyter:no-such-tag"]);
    expect(missing.stderr).toBe(
      `hpcjob: there is no image converted from docker://127.0.0.1:5443/lab/jupyter:no-such-tag in ${IMAGES}; see what is there with: hpcjob image ls --cluster loopback-imagels\n`,
    );
    expect(missing.status).toBe(2);
    const outside = image(["rm", `${HOME}/work/x.sqsh`]);
    expect(outside.stderr).toBe(
      `hpcjob: ${HOME}/work/x.sqsh is not in the image folder ${IMAGES}; hpcjob image rm removes only the images there (see: hpcjob image ls)\n`,
    );
    expect(outside.status).toBe(2);
    expect(folder()).toEqual(before);
  });

  it("rm over SSH removes the file copied in by hand by its name; then the folder has no images", () => {
    const r = overSsh(["rm", "hand.sqsh"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`removed ${IMAGES}/hand.sqsh (4.0 KiB) with its record and lock\n`);
    expect(existsSync(`${IMAGES}/hand.sqsh`)).toBe(false);
    expect(existsSync(`${IMAGES}/hand.sqsh.lock`)).toBe(false);
    expect(image(["ls"]).stdout).toMatch(/^no images in /);
  });
});
