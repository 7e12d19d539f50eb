/**
 * src/image/registry.ts against the real test registry (Distribution 2.8 on
 * https://127.0.0.1:5443 with the test CA; test/cluster/images.sh and the
 * manifest images.json), run as hpcjob runs it: bundled by esbuild, in a
 * Node whose only way to trust the registry is NODE_EXTRA_CA_CERTS. Moves
 * lab/moving:1 and puts it back, and pushes a multi-platform image (an OCI
 * index and a Docker manifest list, made here) to lab/refs-multi, deleted
 * afterwards. Run it under `flock /tmp/hpcjob-e2e.lock` when other test
 * runs share the registry.
 * Needs: sudo bash test/cluster/install.sh && sudo bash test/cluster/images.sh
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers.js";

const MANIFEST = process.env.HPCJOB_IMAGES_JSON ?? "/var/cache/hpcjob-test-images/images.json";
const SYSTEM_ROOTS = "/etc/ssl/certs/ca-certificates.crt";
const MULTI = "lab/refs-multi";

interface TestImage {
  ref: string;
  digest: string;
}
interface Manifest {
  registry: { host: string; caCert: string; caBundle: string };
  images: { jupyter: TestImage; nojupyter: TestImage };
  moving: { ref: string; repository: string; initially: string; digest: string };
}
let m: Manifest;
let dir = "";
let driver = "";

/** What the driver prints: the resolution and the file stem, or the error as the CLI would end with it. */
interface Outcome {
  head?: { digest: string; mediaType: string };
  resolved?: {
    digest: string;
    mediaType: string;
    indexDigest?: string;
    manifestDigest: string;
    platform: { os: string; architecture: string; variant?: string };
    size: number;
    layers: number;
  };
  stem?: string;
  error?: { message: string; exitCode: number; code?: string };
}

/** The driver: parse, HEAD, resolve, as the command will; errors as data. */
const DRIVER = `
import { parseImage, fileStem } from "../../src/image/reference.js";
import { headDigest, resolveImage } from "../../src/image/registry.js";
const [text, os, architecture] = process.argv.slice(2);
const out = {};
try {
  const ref = parseImage(text, "--image");
  if (ref.kind !== "docker") throw new Error("not a docker:// reference");
  const platform = os ? { os, architecture } : undefined;
  out.head = await headDigest(ref);
  out.resolved = await resolveImage(ref, platform ? { platform } : {});
  out.stem = fileStem(ref, out.resolved.digest);
} catch (e) {
  out.error = { message: e.message, exitCode: e.exitCode, code: e.code };
}
process.stdout.write(JSON.stringify(out));
`;

/** Resolve `ref` in a fresh Node that trusts `ca` (the test bundle by default) and nothing else extra. */
function resolve(ref: string, opts: { ca?: string; platform?: string } = {}): Outcome {
  const r = spawnSync(process.execPath, [driver, ref, ...(opts.platform?.split("/") ?? [])], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", NODE_EXTRA_CA_CERTS: opts.ca ?? m.registry.caBundle },
    encoding: "utf8",
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`driver failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Outcome;
}

/** A registry API call with curl, the TLS verified against the test CA. */
function curl(args: string[]): string {
  return execFileSync("curl", ["-sS", "-f", "--max-time", "20", "--cacert", m.registry.caCert, ...args], { encoding: "utf8" });
}

/** The manifest bytes the registry holds for REPO:REF (skopeo: an independent client). */
function rawManifest(ref: string): Buffer {
  return execFileSync("skopeo", ["inspect", "--raw", `docker://${ref}`]);
}

function copy(from: string, to: string) {
  execFileSync("skopeo", ["copy", "-q", "--retry-times", "2", `docker://${from}`, `docker://${to}`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
}

/** The sum of the layers' sizes, as the manifest says. */
function layerBytes(raw: Buffer): number {
  return (JSON.parse(raw.toString()) as { layers: { size: number }[] }).layers.reduce((sum, l) => sum + l.size, 0);
}

/** A port on 127.0.0.1 that was free a moment ago. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as AddressInfo;
  await new Promise((ok) => server.close(ok));
  return port;
}

const sha256 = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

beforeAll(async () => {
  if (!existsSync(MANIFEST))
    throw new Error(`${MANIFEST} is missing: sudo bash test/cluster/images.sh builds the test images and starts the registry`);
  if (spawnSync("sh", ["-c", "command -v skopeo curl"]).status !== 0)
    throw new Error("skopeo and curl are needed: sudo bash test/cluster/install.sh");
  m = JSON.parse(readFileSync(MANIFEST, "utf8")) as Manifest;
  dir = mkdtempSync(join(tmpdir(), "hpcjob-registry-"));
  driver = join(dir, "driver.mjs");
  await build({
    stdin: { contents: DRIVER, resolveDir: join(ROOT, "test", "scripts"), sourcefile: "driver.ts", loader: "ts" },
    outfile: driver,
    bundle: true,
    platform: "node",
    format: "esm",
    packages: "external",
    logLevel: "warning",
  });
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the real test registry, over TLS", () => {
  it("lab/jupyter:1 resolves to the digest images.sh recorded, linux/amd64, with its layers' compressed size", () => {
    const { jupyter } = m.images;
    const out = resolve(`docker://${jupyter.ref}`);
    expect(out.error).toBeUndefined();
    expect(out.head).toEqual({ digest: jupyter.digest, mediaType: "application/vnd.docker.distribution.manifest.v2+json" });
    const raw = rawManifest(jupyter.ref);
    expect(sha256(raw)).toBe(jupyter.digest);
    expect(out.resolved).toEqual({
      digest: jupyter.digest,
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      manifestDigest: jupyter.digest,
      platform: { os: "linux", architecture: "amd64" },
      size: layerBytes(raw),
      layers: 2,
    });
    expect(out.stem).toBe(`127.0.0.1_5443+lab+jupyter+1+${jupyter.digest.slice(7, 19)}`);
  });

  it("TLS is verified: with the system's roots alone (no test CA) it fails, exit 1, and says how to trust the registry", () => {
    const out = resolve(`docker://${m.images.jupyter.ref}`, { ca: SYSTEM_ROOTS });
    expect(out.error?.exitCode).toBe(1);
    expect(out.error?.message).toMatch(
      /^cannot reach registry 127\.0\.0\.1:5443: .*; its certificate is not trusted here: give Node the registry's CA with NODE_EXTRA_CA_CERTS=/,
    );
  });

  it("a missing tag fails, exit 1, in the registry's words (MANIFEST_UNKNOWN)", () => {
    const out = resolve(`docker://${m.registry.host}/lab/jupyter:no-such-tag`);
    expect(out.error).toMatchObject({ exitCode: 1, code: "MANIFEST_UNKNOWN" });
    expect(out.error?.message).toBe(
      `registry ${m.registry.host} answered 404 for docker://${m.registry.host}/lab/jupyter:no-such-tag: MANIFEST_UNKNOWN: manifest unknown; check the name and the tag (skopeo list-tags docker://REPOSITORY lists the tags)`,
    );
  });

  it("a bad reference is exit 2 before anything is asked", () => {
    const out = resolve(`docker://${m.registry.host}/Lab/Jupyter:1`);
    expect(out.error).toMatchObject({ exitCode: 2 });
    expect(out.error?.message).toBe(
      `--image "docker://${m.registry.host}/Lab/Jupyter:1" has capital letters; repository names are lowercase: write docker://${m.registry.host}/lab/jupyter:1`,
    );
  });

  it("a port nothing listens on: exit 1 with the cause", async () => {
    const port = await closedPort();
    const out = resolve(`docker://127.0.0.1:${port}/lab/jupyter:1`);
    expect(out.error?.exitCode).toBe(1);
    expect(out.error?.message).toBe(
      `cannot reach registry 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}; check the registry's host and port, and that it is running`,
    );
  });

  it("a tag pushed again with another image gives the new digest (and a new file stem); put back afterwards", () => {
    const { moving, images } = m;
    const before = resolve(`docker://${moving.ref}`);
    expect(before.resolved?.digest, "lab/moving:1 is not at its start; sudo bash test/cluster/images.sh puts it back").toBe(moving.digest);
    try {
      copy(images.jupyter.ref, moving.ref);
      const after = resolve(`docker://${moving.ref}`);
      expect(after.resolved?.digest).toBe(images.jupyter.digest);
      expect(after.resolved?.digest).not.toBe(before.resolved?.digest);
      expect(after.resolved?.size).toBe(layerBytes(rawManifest(images.jupyter.ref)));
      expect(after.stem).not.toBe(before.stem);
    } finally {
      copy(`${m.registry.host}/lab/${moving.initially}:1`, moving.ref);
    }
    expect(resolve(`docker://${moving.ref}`).resolved?.digest).toBe(moving.digest);
  });
});

describe("a multi-platform image in the real registry", () => {
  const host = () => m.registry.host;
  let indexDigest = "";
  let listDigest = "";

  /** An index or manifest list of jupyter as linux/amd64 and nojupyter labelled linux/arm64/v8, arm64 first. */
  function push(tag: string, mediaType: string): string {
    const entry = (image: TestImage, platform: object) => ({
      mediaType: "application/vnd.docker.distribution.manifest.v2+json",
      digest: image.digest,
      size: rawManifest(image.ref).length,
      platform,
    });
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: [
        entry(m.images.nojupyter, { architecture: "arm64", os: "linux", variant: "v8" }),
        entry(m.images.jupyter, { architecture: "amd64", os: "linux" }),
      ],
    });
    const file = join(dir, `${tag}.json`);
    writeFileSync(file, body);
    curl(["-X", "PUT", "-H", `Content-Type: ${mediaType}`, "--data-binary", `@${file}`, `https://${host()}/v2/${MULTI}/manifests/${tag}`]);
    return sha256(body);
  }

  beforeAll(() => {
    // The registry accepts an index only when the manifests it lists are in the same repository.
    copy(m.images.jupyter.ref, `${host()}/${MULTI}:amd64`);
    copy(m.images.nojupyter.ref, `${host()}/${MULTI}:arm64`);
    indexDigest = push("oci-index", "application/vnd.oci.image.index.v1+json");
    listDigest = push("docker-list", "application/vnd.docker.distribution.manifest.list.v2+json");
  }, 60_000);

  afterAll(() => {
    // Deleting by digest removes the tags in this repository only (lab/jupyter keeps its own).
    for (const d of [indexDigest, listDigest, m.images.jupyter.digest, m.images.nojupyter.digest]) {
      if (d)
        spawnSync("curl", [
          "-sS",
          "-o",
          "/dev/null",
          "--cacert",
          m.registry.caCert,
          "-X",
          "DELETE",
          `https://${host()}/v2/${MULTI}/manifests/${d}`,
        ]);
    }
  });

  it.each([
    ["an OCI index", "oci-index", "application/vnd.oci.image.index.v1+json", () => indexDigest],
    ["a Docker manifest list", "docker-list", "application/vnd.docker.distribution.manifest.list.v2+json", () => listDigest],
  ])("%s: the index's digest keys it, its linux/amd64 entry is the image (not the first entry)", (_, tag, mediaType, digest) => {
    const out = resolve(`docker://${host()}/${MULTI}:${tag}`);
    expect(out.error).toBeUndefined();
    expect(out.head).toEqual({ digest: digest(), mediaType });
    expect(out.resolved).toEqual({
      digest: digest(),
      mediaType,
      indexDigest: digest(),
      manifestDigest: m.images.jupyter.digest,
      platform: { architecture: "amd64", os: "linux" },
      size: layerBytes(rawManifest(m.images.jupyter.ref)),
      layers: 2,
    });
    expect(out.stem).toBe(`127.0.0.1_5443+lab+refs-multi+${tag}+${digest().slice(7, 19)}`);
  });

  it("another platform when asked: linux/arm64 matches the entry with arm64's default variant v8", () => {
    const out = resolve(`docker://${host()}/${MULTI}:oci-index`, { platform: "linux/arm64" });
    expect(out.resolved?.manifestDigest).toBe(m.images.nojupyter.digest);
    expect(out.resolved?.platform).toEqual({ architecture: "arm64", os: "linux", variant: "v8" });
  });

  it("pinned by the index's digest, the same resolution", () => {
    const out = resolve(`docker://${host()}/${MULTI}@${indexDigest}`);
    expect(out.resolved).toMatchObject({ digest: indexDigest, manifestDigest: m.images.jupyter.digest });
  });

  it("no linux/ppc64le entry: exit 2, naming what it has", () => {
    const out = resolve(`docker://${host()}/${MULTI}:oci-index`, { platform: "linux/ppc64le" });
    expect(out.error).toEqual({
      exitCode: 2,
      message: `docker://${host()}/${MULTI}:oci-index has no linux/ppc64le image (it has linux/arm64/v8, linux/amd64); choose an image built for linux/ppc64le`,
    });
  });
});
