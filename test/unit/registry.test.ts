/**
 * Resolving digests against a local HTTP server that plays registries the
 * way the real ones answer: Docker Hub (401 with a Bearer challenge, the
 * token service on another host, 401 UNAUTHORIZED for unknown repositories,
 * multi-platform OCI indexes with buildx attestations), a registry with its
 * own realm like nvcr.io, and misbehaving ones. Docker Hub's auth cannot run
 * here; test/scripts/registry.test.ts runs the same code against the real
 * test registry over TLS. The `fetch` given to hpcjob routes
 * https://HOST/PATH to http://127.0.0.1:PORT/HOST/PATH and fails on any
 * other scheme, so these tests also prove hpcjob only asks over HTTPS.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isHpcjobError } from "../../src/core/errors.js";
import { parseChallenge } from "../../src/image/challenge.js";
import { type DockerRef, parseImage } from "../../src/image/reference.js";
import { headDigest, type RegistryOptions, resolveImage } from "../../src/image/registry.js";

const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

/** Something a registry stores: its bytes, digest and media type. */
interface Blob {
  bytes: Buffer;
  digest: string;
  type: string;
}

function blob(value: unknown, type: string): Blob {
  const bytes = Buffer.from(JSON.stringify(value));
  return { bytes, digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}`, type };
}

/** One platform's image: config, manifest, and the compressed size of its layers. */
function image(architecture: string, layers: number[], opts: { variant?: string; type?: string } = {}) {
  const config = blob(
    { architecture, os: "linux", ...(opts.variant && { variant: opts.variant }), config: { Env: ["PATH=/usr/bin"] } },
    "application/json",
  );
  const type = opts.type ?? OCI_MANIFEST;
  const layerType =
    type === OCI_MANIFEST ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.docker.image.rootfs.diff.tar.gzip";
  const manifest = blob(
    {
      schemaVersion: 2,
      mediaType: type,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config.digest, size: config.bytes.length },
      layers: layers.map((size, i) => ({ mediaType: layerType, size, digest: `sha256:${String(i).repeat(64)}` })),
    },
    type,
  );
  return { config, manifest, size: layers.reduce((a, b) => a + b, 0), architecture, variant: opts.variant };
}
type Image = ReturnType<typeof image>;

/** An index of `images` (as buildx pushes them: each with an attestation manifest for platform unknown/unknown). */
function index(images: Image[], type = OCI_INDEX): Blob {
  const attestation = blob({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: {}, layers: [] }, OCI_MANIFEST);
  return blob(
    {
      schemaVersion: 2,
      mediaType: type,
      manifests: [
        ...images.map((i) => ({
          mediaType: i.manifest.type,
          digest: i.manifest.digest,
          size: i.manifest.bytes.length,
          platform: { architecture: i.architecture, os: "linux", ...(i.variant && { variant: i.variant }) },
        })),
        ...(type === OCI_INDEX
          ? images.map((i) => ({
              mediaType: OCI_MANIFEST,
              digest: attestation.digest,
              size: attestation.bytes.length,
              annotations: { "vnd.docker.reference.digest": i.manifest.digest, "vnd.docker.reference.type": "attestation-manifest" },
              platform: { architecture: "unknown", os: "unknown" },
            }))
          : []),
      ],
    },
    type,
  );
}

/** A repository: tags to digests, and the manifests and blobs by digest. */
interface Repo {
  tags: Record<string, string>;
  manifests: Map<string, Blob>;
  blobs: Map<string, Blob>;
}

function repo(tags: Record<string, Blob>, images: Image[], extra: Blob[] = []): Repo {
  const manifests = new Map<string, Blob>();
  const blobs = new Map<string, Blob>();
  for (const b of [...Object.values(tags), ...extra]) manifests.set(b.digest, b);
  for (const i of images) {
    manifests.set(i.manifest.digest, i.manifest);
    blobs.set(i.config.digest, i.config);
  }
  return { tags: Object.fromEntries(Object.entries(tags).map(([t, b]) => [t, b.digest])), manifests, blobs };
}

/** How a fake registry behaves. */
interface Registry {
  /** Bearer: challenge with this realm and service (the token is handed out by the realm's host); basic: a Basic challenge. */
  auth?: { realm: string; service: string } | "basic";
  repos: Record<string, Repo>;
  /** Docker Hub answers 401 UNAUTHORIZED, not 404, for a repository it does not have (or that is private). */
  unknownRepo401?: boolean;
  noDigestHeader?: boolean;
  noContentType?: boolean;
  /** Serve other bytes than asked for at this digest. */
  tamper?: string;
  /** Never answer. */
  hang?: boolean;
}

const amd64 = image("amd64", [30_000_000, 1_000_000]);
const arm64 = image("arm64", [28_000_000, 900_000], { variant: "v8" });
const ubuntuIndex = index([amd64, arm64]);
const armOnly = index([arm64]);
const nvcrImage = image("amd64", [500_000_000, 2_000_000_000, 12_345], { type: DOCKER_MANIFEST });
const listAmd64 = image("amd64", [111, 222], { type: DOCKER_MANIFEST });
const listArm = image("arm64", [333], { type: DOCKER_MANIFEST });
const dockerList = index([listArm, listAmd64], DOCKER_LIST);
const schema1 = blob(
  { schemaVersion: 1, name: "old/thing", tag: "1", fsLayers: [] },
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
);
const armSingle = image("arm64", [10], { type: DOCKER_MANIFEST });

const REGISTRIES: Record<string, Registry> = {
  "registry-1.docker.io": {
    auth: { realm: "https://auth.docker.io/token", service: "registry.docker.io" },
    unknownRepo401: true,
    repos: {
      "library/ubuntu": repo({ "22.04": ubuntuIndex, latest: ubuntuIndex }, [amd64, arm64]),
      "someone/armonly": repo({ "1": armOnly }, [arm64]),
      "someone/list": repo({ "1": dockerList }, [listAmd64, listArm]),
      "old/thing": repo({ "1": schema1 }, []),
    },
  },
  "nvcr.io": {
    auth: { realm: "https://nvcr.io/proxy_auth", service: "" },
    repos: { "nvidia/pytorch": repo({ "24.01-py3": nvcrImage.manifest }, [nvcrImage]) },
  },
  "plain.example.com": {
    repos: { "lab/arm": repo({ "1": armSingle.manifest }, [armSingle]), "lab/img": repo({ "1": amd64.manifest }, [amd64]) },
  },
  "nodigest.example.com": { noDigestHeader: true, repos: { "lab/img": repo({ "1": ubuntuIndex }, [amd64, arm64]) } },
  "notype.example.com": { noContentType: true, noDigestHeader: true, repos: { "lab/img": repo({ "1": ubuntuIndex }, [amd64, arm64]) } },
  "tamper.example.com": { tamper: amd64.manifest.digest, repos: { "lab/img": repo({ "1": ubuntuIndex }, [amd64, arm64]) } },
  "basic.example.com": { auth: "basic", repos: {} },
  "http-realm.example.com": { auth: { realm: "http://auth.example.com/token", service: "x" }, repos: {} },
  "bad-token.example.com": { auth: { realm: "https://bad-token.example.com/token", service: "x" }, repos: {} },
  "slow.example.com": { hang: true, repos: {} },
};

let server: Server;
let base = "";
/** Every request hpcjob made, as "METHOD host/path?query". */
let log: string[] = [];
/** Authorization headers the registries saw. */
let auths: string[] = [];

function send(res: ServerResponse, status: number, headers: Record<string, string>, body?: Buffer | string) {
  res.writeHead(status, { ...(body !== undefined && { "content-length": String(Buffer.byteLength(body)) }), ...headers });
  res.end(body);
}

function errors(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}) {
  send(
    res,
    status,
    { "content-type": "application/json; charset=utf-8", ...headers },
    JSON.stringify({ errors: [{ code, message, detail: null }] }),
  );
}

/** The fake: /HOST/v2/NAME/manifests/REF, /HOST/v2/NAME/blobs/DIGEST, and token realms. */
function handle(req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? "/", "http://x");
  const [, host = "", ...rest] = url.pathname.split("/");
  const path = `/${rest.join("/")}`;
  // Token services.
  if (
    host === "auth.docker.io" ||
    (host === "nvcr.io" && path === "/proxy_auth") ||
    (host === "bad-token.example.com" && path === "/token")
  ) {
    if (host === "bad-token.example.com")
      return send(res, 400, { "content-type": "application/json" }, JSON.stringify({ details: "invalid scope" }));
    const scope = url.searchParams.get("scope") ?? "";
    if (host === "auth.docker.io" && url.searchParams.get("service") !== "registry.docker.io") return send(res, 400, {}, "no service");
    return send(
      res,
      200,
      { "content-type": "application/json" },
      JSON.stringify({ token: `T ${scope}`, access_token: `T ${scope}`, expires_in: 300 }),
    );
  }
  const reg = REGISTRIES[host];
  if (!reg) return send(res, 502, {}, "no such host in the fake");
  if (reg.hang) return; // never answers
  auths.push(req.headers.authorization ?? "");
  const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
  if (!m) return send(res, 404, {}, "404 page not found");
  const [, name = "", what, ref = ""] = m;
  if (reg.auth === "basic")
    return errors(res, 401, "UNAUTHORIZED", "authentication required", { "www-authenticate": 'Basic realm="Registry Realm"' });
  if (reg.auth !== undefined) {
    const scope = `repository:${name}:pull`;
    if (req.headers.authorization !== `Bearer T ${scope}`) {
      const service = reg.auth.service ? `,service="${reg.auth.service}"` : "";
      return errors(res, 401, "UNAUTHORIZED", "authentication required", {
        "www-authenticate": `Bearer realm="${reg.auth.realm}"${service},scope="${scope}"`,
      });
    }
  }
  const r = reg.repos[name];
  if (!r) {
    return reg.unknownRepo401
      ? errors(res, 401, "UNAUTHORIZED", "authentication required")
      : errors(res, 404, "NAME_UNKNOWN", "repository name not known to registry");
  }
  const b = what === "blobs" ? r.blobs.get(ref) : r.manifests.get(r.tags[ref] ?? ref);
  if (!b)
    return what === "blobs"
      ? errors(res, 404, "BLOB_UNKNOWN", "blob unknown to registry")
      : errors(res, 404, "MANIFEST_UNKNOWN", "manifest unknown");
  const accept = req.headers.accept ?? "";
  // (A registry holding only a schema 1 manifest sends it whatever was asked for.)
  if (what === "manifests" && !accept.includes(b.type) && b !== schema1)
    return errors(res, 404, "MANIFEST_UNKNOWN", "manifest unknown (not acceptable)");
  const bytes = reg.tamper === b.digest ? Buffer.from(b.bytes.toString().replace("30000000", "30000001")) : b.bytes;
  const headers = {
    ...(!reg.noContentType && { "content-type": b.type }),
    ...(!reg.noDigestHeader && { "docker-content-digest": b.digest }),
  };
  if (req.method === "HEAD") return send(res, 200, { ...headers, "content-length": String(bytes.length) });
  send(res, 200, headers, bytes);
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

/** The fetch hpcjob is given: https://HOST/PATH to the fake, logged; anything but https fails the test. */
const routed: typeof fetch = (input, init) => {
  const url = new URL(String(input));
  if (url.protocol !== "https:") throw new Error(`hpcjob asked over ${url.protocol}: ${url.href}`);
  log.push(`${init?.method ?? "GET"} ${url.host}${url.pathname}${url.search}`);
  return fetch(`${base}/${url.host}${url.pathname}${url.search}`, init);
};
const opts: RegistryOptions = { fetch: routed, timeoutMs: 5000 };

function ref(text: string): DockerRef {
  const r = parseImage(text);
  if (r.kind !== "docker") throw new Error("not docker");
  log = [];
  auths = [];
  return r;
}

/** The error a promise rejects with: message, exit code, registry code. */
async function failure(p: Promise<unknown>): Promise<{ message: string; exitCode: number; code?: string }> {
  try {
    await p;
  } catch (e) {
    if (!isHpcjobError(e)) throw e;
    return { message: e.message, exitCode: e.exitCode, code: (e as { code?: string }).code };
  }
  throw new Error("it resolved");
}

describe("Docker Hub: the anonymous token flow", () => {
  it("HEAD, 401 with a Bearer challenge, a token for the challenge's service and scope, HEAD again: the index's digest, no GET", async () => {
    const head = await headDigest(ref("docker://ubuntu:22.04"), opts);
    expect(head).toEqual({ digest: ubuntuIndex.digest, mediaType: OCI_INDEX });
    expect(log).toEqual([
      "HEAD registry-1.docker.io/v2/library/ubuntu/manifests/22.04",
      "GET auth.docker.io/token?service=registry.docker.io&scope=repository%3Alibrary%2Fubuntu%3Apull",
      "HEAD registry-1.docker.io/v2/library/ubuntu/manifests/22.04",
    ]);
    expect(auths).toEqual(["", "Bearer T repository:library/ubuntu:pull"]);
  });

  it("resolves a multi-platform image to its linux/amd64 manifest, one token for every request, and sums its layers", async () => {
    const got = await resolveImage(ref("docker://ubuntu:22.04"), opts);
    expect(got).toEqual({
      digest: ubuntuIndex.digest,
      mediaType: OCI_INDEX,
      indexDigest: ubuntuIndex.digest,
      manifestDigest: amd64.manifest.digest,
      platform: { os: "linux", architecture: "amd64" },
      size: 31_000_000,
      layers: 2,
    });
    expect(log.filter((l) => l.includes("auth.docker.io"))).toHaveLength(1);
    expect(log.slice(2)).toEqual([
      "HEAD registry-1.docker.io/v2/library/ubuntu/manifests/22.04",
      `GET registry-1.docker.io/v2/library/ubuntu/manifests/${ubuntuIndex.digest}`,
      `GET registry-1.docker.io/v2/library/ubuntu/manifests/${amd64.manifest.digest}`,
    ]);
  });

  it("chooses another platform when asked (arm64's default variant v8 matches)", async () => {
    const got = await resolveImage(ref("docker://ubuntu"), { ...opts, platform: { os: "linux", architecture: "arm64" } });
    expect(got.manifestDigest).toBe(arm64.manifest.digest);
    expect(got.platform).toEqual({ os: "linux", architecture: "arm64", variant: "v8" });
    expect(got.size).toBe(28_900_000);
  });

  it("reads Docker's manifest list as well as the OCI index", async () => {
    const got = await resolveImage(ref("docker://someone/list:1"), opts);
    expect(got).toMatchObject({ digest: dockerList.digest, mediaType: DOCKER_LIST, manifestDigest: listAmd64.manifest.digest, size: 333 });
  });

  it("an image pinned by digest is asked for by that digest", async () => {
    const got = await resolveImage(ref(`docker://ubuntu@${ubuntuIndex.digest}`), opts);
    expect(got.digest).toBe(ubuntuIndex.digest);
    expect(log[0]).toBe(`HEAD registry-1.docker.io/v2/library/ubuntu/manifests/${ubuntuIndex.digest}`);
  });

  it("an image without linux/amd64: exit 2, naming the platforms it has (not the attestations)", async () => {
    const f = await failure(resolveImage(ref("docker://someone/armonly:1"), opts));
    expect(f.exitCode).toBe(2);
    expect(f.message).toBe(
      "docker://docker.io/someone/armonly:1 has no linux/amd64 image (it has linux/arm64/v8); choose an image built for linux/amd64",
    );
  });

  it("a missing tag: exit 1 with the registry's MANIFEST_UNKNOWN words (from a GET: HEAD answers have no body)", async () => {
    const f = await failure(headDigest(ref("docker://ubuntu:99.99"), opts));
    expect(f).toMatchObject({ exitCode: 1, code: "MANIFEST_UNKNOWN" });
    expect(f.message).toBe(
      "registry docker.io answered 404 for docker://docker.io/library/ubuntu:99.99: MANIFEST_UNKNOWN: manifest unknown; check the name and the tag (skopeo list-tags docker://REPOSITORY lists the tags)",
    );
    expect(log.at(-1)).toBe("GET registry-1.docker.io/v2/library/ubuntu/manifests/99.99");
  });

  it("a repository Docker Hub does not have (or a private one): 401 UNAUTHORIZED in its words, and what that means", async () => {
    const f = await failure(resolveImage(ref("docker://nobody/nothing:1"), opts));
    expect(f).toMatchObject({ exitCode: 1, code: "UNAUTHORIZED" });
    expect(f.message).toContain(
      "answered 401 for docker://docker.io/nobody/nothing:1: UNAUTHORIZED: authentication required; the image does not exist or is private",
    );
  });

  it("a schema 1 image: exit 2, push it again", async () => {
    const f = await failure(resolveImage(ref("docker://old/thing:1"), opts));
    expect(f.exitCode).toBe(2);
    expect(f.message).toContain("is a schema 1 image");
  });
});

describe("other registries", () => {
  it("nvcr.io's own realm, no service: a token for the repository, then a single image whose config says linux/amd64", async () => {
    const got = await resolveImage(ref("docker://nvcr.io/nvidia/pytorch:24.01-py3"), opts);
    expect(got).toEqual({
      digest: nvcrImage.manifest.digest,
      mediaType: DOCKER_MANIFEST,
      manifestDigest: nvcrImage.manifest.digest,
      platform: { os: "linux", architecture: "amd64" },
      size: 2_500_012_345,
      layers: 3,
    });
    expect(log[1]).toBe("GET nvcr.io/proxy_auth?scope=repository%3Anvidia%2Fpytorch%3Apull");
    expect(log.at(-1)).toBe(`GET nvcr.io/v2/nvidia/pytorch/blobs/${nvcrImage.config.digest}`);
  });

  it("no auth at all: no token asked for", async () => {
    const got = await resolveImage(ref("docker://plain.example.com/lab/img:1"), opts);
    expect(got.digest).toBe(amd64.manifest.digest);
    expect(log.some((l) => l.includes("token"))).toBe(false);
  });

  it("a single image for another platform: exit 2", async () => {
    const f = await failure(resolveImage(ref("docker://plain.example.com/lab/arm:1"), opts));
    expect(f.exitCode).toBe(2);
    expect(f.message).toBe(
      "docker://plain.example.com/lab/arm:1 is a linux/arm64 image, not linux/amd64; choose an image built for linux/amd64",
    );
  });

  it("NAME_UNKNOWN in the registry's words", async () => {
    const f = await failure(headDigest(ref("docker://plain.example.com/lab/none:1"), opts));
    expect(f).toMatchObject({ exitCode: 1, code: "NAME_UNKNOWN" });
    expect(f.message).toContain(
      "answered 404 for docker://plain.example.com/lab/none:1: NAME_UNKNOWN: repository name not known to registry",
    );
  });

  it("no Docker-Content-Digest: the digest is the sha256 of the manifest's bytes", async () => {
    expect((await headDigest(ref("docker://nodigest.example.com/lab/img:1"), opts)).digest).toBe(ubuntuIndex.digest);
    expect((await resolveImage(ref("docker://nodigest.example.com/lab/img:1"), opts)).manifestDigest).toBe(amd64.manifest.digest);
  });

  it("no Content-Type either: the body's mediaType says it is an index", async () => {
    const got = await resolveImage(ref("docker://notype.example.com/lab/img:1"), opts);
    expect(got).toMatchObject({
      digest: ubuntuIndex.digest,
      mediaType: OCI_INDEX,
      indexDigest: ubuntuIndex.digest,
      manifestDigest: amd64.manifest.digest,
    });
  });

  it("content that does not match its digest is refused", async () => {
    const f = await failure(resolveImage(ref("docker://tamper.example.com/lab/img:1"), opts));
    expect(f.exitCode).toBe(1);
    expect(f.message).toMatch(/^registry tamper\.example\.com sent content whose digest is sha256:[0-9a-f]{64}, not the sha256:/);
  });

  it("Basic auth: exit 1, hpcjob sends no passwords", async () => {
    const f = await failure(headDigest(ref("docker://basic.example.com/x/y:1"), opts));
    expect(f.exitCode).toBe(1);
    expect(f.message).toContain("wants a user name and password");
  });

  it("a token realm over plain HTTP is not followed", async () => {
    const f = await failure(headDigest(ref("docker://http-realm.example.com/x/y:1"), opts));
    expect(f.message).toContain("which is not HTTPS; hpcjob uses HTTPS only");
    expect(log).toHaveLength(1);
  });

  it("a token service's refusal in its words", async () => {
    const f = await failure(headDigest(ref("docker://bad-token.example.com/x/y:1"), opts));
    expect(f).toMatchObject({ exitCode: 1 });
    expect(f.message).toBe(
      "the token service bad-token.example.com of registry bad-token.example.com refused docker://bad-token.example.com/x/y:1 (400): invalid scope",
    );
  });
});

describe("a registry that cannot be reached", () => {
  it("refused connection: exit 1 with the cause and what to check", async () => {
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, "127.0.0.1", ok));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((ok) => closed.close(ok));
    const toClosed: typeof fetch = (input, init) => fetch(String(input).replace(/^https:\/\/[^/]+/, `http://127.0.0.1:${port}`), init);
    const f = await failure(headDigest(ref("docker://gone.example.com/x/y:1"), { fetch: toClosed }));
    expect(f.exitCode).toBe(1);
    expect(f.message).toBe(
      `cannot reach registry gone.example.com: connect ECONNREFUSED 127.0.0.1:${port}; check the registry's host and port, and that it is running`,
    );
  });

  it("a port Node's fetch blocks (the Fetch standard's bad ports): says so", async () => {
    const toBadPort: typeof fetch = (input, init) => fetch(String(input).replace(/^https:\/\/[^/]+/, "http://127.0.0.1:6000"), init);
    const f = await failure(headDigest(ref("docker://x11.example.com:6000/x/y:1"), { fetch: toBadPort }));
    expect(f.message).toBe(
      "cannot reach registry x11.example.com:6000: bad port; Node's fetch refuses this port (the Fetch standard's list of blocked ports); serve the registry on another port",
    );
  });

  it("no answer: exit 1 after the time limit, not a wait forever", async () => {
    const t0 = Date.now();
    const f = await failure(headDigest(ref("docker://slow.example.com/x/y:1"), { ...opts, timeoutMs: 300 }));
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(f.exitCode).toBe(1);
    expect(f.message).toBe("registry slow.example.com did not answer within 0.3 s; check the network, or try again later");
  });
});

describe("WWW-Authenticate challenges", () => {
  it.each([
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"',
      {
        scheme: "bearer",
        params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/ubuntu:pull" },
      },
    ],
    // A scope may hold commas inside its quotes; names are case-insensitive; values may be unquoted tokens.
    [
      'bearer Realm="https://ghcr.io/token", Service=ghcr.io, scope="repository:o/i:pull,push"',
      { scheme: "bearer", params: { realm: "https://ghcr.io/token", service: "ghcr.io", scope: "repository:o/i:pull,push" } },
    ],
    ['Basic realm="a \\"quoted\\" realm"', { scheme: "basic", params: { realm: 'a "quoted" realm' } }],
    ["Bearer", { scheme: "bearer", params: {} }],
  ])("%s", (header, challenge) => {
    expect(parseChallenge(header)).toEqual(challenge);
  });
  it("none", () => {
    expect(parseChallenge(null)).toBeUndefined();
    expect(parseChallenge("")).toBeUndefined();
  });
});
