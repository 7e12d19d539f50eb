/**
 * What a `docker://` reference names right now, asked of its registry before
 * anything is converted (Distribution's HTTP API V2 and the OCI distribution
 * spec): the digest, the linux/amd64 manifest of a multi-platform image, and
 * the compressed size of its layers. Plain HTTPS from wherever hpcjob runs,
 * with TLS verification always on (a private CA is given to Node with
 * NODE_EXTRA_CA_CERTS). Anonymous bearer tokens are fetched as Docker Hub,
 * nvcr.io and ghcr.io ask (Docker's token auth spec). `fetch` is a parameter
 * so that tests can route it.
 *
 * The digest that keys hpcjob's converted files is the one the reference
 * names (HEAD's Docker-Content-Digest): the index's for a multi-platform
 * image. Checking it costs one HEAD, which Docker Hub does not count as a
 * pull (its rate limit counts manifest GETs, and login nodes share one
 * address), and it is what `docker pull` prints and users pin with @sha256.
 * The platform manifest's digest is reported beside it.
 */
import { createHash } from "node:crypto";
import { HpcjobError, UsageError } from "../core/errors.js";
import { parseChallenge } from "./challenge.js";
import { DOCKER_HUB } from "./grammar.js";
import {
  bareType,
  chooseEntry,
  configPlatform,
  INDEX_TYPES,
  kindOf,
  LINUX_AMD64,
  MANIFEST_TYPES,
  type Platform,
  platformMatches,
  platformName,
  readManifest,
} from "./manifest.js";
import { canonicalRef, type DockerRef } from "./reference.js";

/** A registry or its token service failed or refused: exit 1, with the registry's own words (`MANIFEST_UNKNOWN: manifest unknown`). */
export class RegistryError extends HpcjobError {
  /** The registry's first error code (MANIFEST_UNKNOWN, UNAUTHORIZED, ...), when it gave one. */
  readonly code: string | undefined;
  /** The HTTP status, when there was an answer. */
  readonly status: number | undefined;

  constructor(message: string, opts: { code?: string; status?: number } = {}) {
    super(message, 1);
    this.code = opts.code;
    this.status = opts.status;
  }
}

/** How to reach the registry; every field has a default. */
export interface RegistryOptions {
  /** The fetch to use (Node's by default). */
  fetch?: typeof globalThis.fetch;
  /** Each request's limit in milliseconds (default 20 s). */
  timeoutMs?: number;
  /** The platform whose manifest is chosen from an index (default linux/amd64). */
  platform?: Platform;
}

/** What HEAD says about a reference. */
export interface ManifestHead {
  /** The digest the reference names now: `sha256:` + 64 hex digits. */
  digest: string;
  /** Its media type (index, manifest list, OCI or Docker manifest). */
  mediaType: string;
}

/** Everything a conversion needs to know about a reference, resolved before converting. */
export interface ResolvedImage extends ManifestHead {
  /** The index's (= manifest list's) digest when the reference names one, else undefined. */
  indexDigest?: string;
  /** The digest of the platform's image manifest: `digest` itself for a single-platform image. */
  manifestDigest: string;
  /** The platform of that manifest. */
  platform: Platform;
  /** The compressed size of its layers in bytes: what is downloaded (unpacked it is larger). */
  size: number;
  /** How many layers. */
  layers: number;
}

/** Manifests are small; a registry may refuse ones over 4 MiB (OCI distribution spec), so a larger answer is not a manifest. */
const MAX_BODY = 4 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 20_000;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * The digest `ref` names now, from one HEAD of its manifest (a GET only when
 * the registry sends no Docker-Content-Digest). Cheap enough to ask before
 * every use: Docker Hub does not count a HEAD against its pull limit.
 */
export async function headDigest(ref: DockerRef, opts: RegistryOptions = {}): Promise<ManifestHead> {
  return new Session(ref, opts).head();
}

/**
 * Resolve `ref` for a conversion: its digest (HEAD), the platform's manifest
 * (an index is fetched and its linux/amd64 entry chosen), and the compressed
 * size of that manifest's layers. A single-platform image's config is read to
 * check its platform. Throws RegistryError (exit 1) with the registry's words,
 * UsageError (exit 2) when the image has no manifest for the platform.
 */
export async function resolveImage(ref: DockerRef, opts: RegistryOptions = {}): Promise<ResolvedImage> {
  const session = new Session(ref, opts);
  const want = opts.platform ?? LINUX_AMD64;
  const head = await session.head();
  let mediaType = head.mediaType;
  let kind = kindOf(mediaType, undefined);
  let indexBody: unknown;
  if (kind !== "manifest") {
    // Index, or a type HEAD did not say: the body decides.
    const got = await session.manifest(head.digest, [...INDEX_TYPES, ...MANIFEST_TYPES]);
    const { mediaType: written } = (got.body ?? {}) as { mediaType?: unknown };
    mediaType = got.mediaType || mediaType || (typeof written === "string" ? written : "");
    kind = kindOf(mediaType, got.body);
    indexBody = got.body;
  }
  if (kind === "schema1") {
    throw new UsageError(
      `${session.shown} is a schema 1 image, which Docker, Apptainer and enroot no longer read; push it again with a current Docker or choose a newer tag`,
    );
  }
  if (kind === "unknown") throw session.error(`answered with a manifest of unknown type "${mediaType}" for ${session.shown}`);

  let manifestDigest = head.digest;
  let platform: Platform | undefined;
  if (kind === "index") {
    const { entries, chosen } = chooseEntry(indexBody, want);
    if (!chosen) {
      const offered = entries.flatMap((e) => (e.platform && e.platform.os !== "unknown" ? [platformName(e.platform)] : []));
      throw new UsageError(
        `${session.shown} has no ${platformName(want)} image (it has ${offered.join(", ") || "no platform images"}); choose an image built for ${platformName(want)}`,
      );
    }
    manifestDigest = chosen.digest;
    platform = chosen.platform;
  }

  const got = await session.manifest(manifestDigest, MANIFEST_TYPES);
  const manifest = kindOf(got.mediaType, got.body) === "manifest" ? readManifest(got.body) : undefined;
  if (!manifest) throw session.error(`sent no image manifest (config and layers) for ${session.shown} at ${manifestDigest}`);
  if (platform === undefined) {
    // One image, no index to say its platform: its config does.
    platform = configPlatform(await session.blobJson(manifest.config.digest));
    if (platform === undefined) throw session.error(`sent an image config without os and architecture for ${session.shown}`);
    if (!platformMatches(platform, want)) {
      throw new UsageError(
        `${session.shown} is a ${platformName(platform)} image, not ${platformName(want)}; choose an image built for ${platformName(want)}`,
      );
    }
  }
  return {
    digest: head.digest,
    mediaType,
    ...(kind === "index" && { indexDigest: head.digest }),
    manifestDigest,
    platform,
    size: manifest.layers.reduce((sum, l) => sum + l.size, 0),
    layers: manifest.layers.length,
  };
}

/** The host serving a registry's API: Docker Hub's is registry-1.docker.io (what Docker and enroot call). */
function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? "registry-1.docker.io" : registry;
}

/** One resolution: the registry, the repository, and the bearer token once one was given. */
class Session {
  readonly shown: string;
  private readonly host: string;
  private readonly fetch: typeof globalThis.fetch;
  private readonly timeoutMs: number;
  private token: string | undefined;

  constructor(
    private readonly ref: DockerRef,
    opts: RegistryOptions,
  ) {
    this.shown = canonicalRef(ref);
    this.host = apiHost(ref.registry);
    this.fetch = opts.fetch ?? globalThis.fetch;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /**
   * HEAD of the manifest the reference names. When HEAD fails, a GET: HEAD
   * answers carry no body, so only a GET has the registry's words (and a
   * registry without HEAD still answers).
   */
  async head(): Promise<ManifestHead> {
    const target = this.ref.digest ?? this.ref.tag ?? "latest";
    const accept = [...MANIFEST_TYPES, ...INDEX_TYPES];
    let res = await this.request("HEAD", `manifests/${target}`, accept);
    let got: Response | undefined;
    if (!res.ok) {
      res = got = await this.request("GET", `manifests/${target}`, accept);
      if (!res.ok) throw await this.refused(res);
    }
    const mediaType = bareType(res.headers.get("content-type"));
    const sent = res.headers.get("docker-content-digest")?.trim();
    const digest = this.ref.digest ?? (sent !== undefined && DIGEST.test(sent) ? sent : undefined);
    if (digest !== undefined) {
      await got?.body?.cancel();
      return { digest, mediaType };
    }
    // No (sha256) Docker-Content-Digest: the digest is the sha256 of the manifest's bytes (OCI distribution spec).
    got ??= await this.request("GET", `manifests/${target}`, accept);
    if (!got.ok) throw await this.refused(got);
    const bytes = await this.bytes(got);
    return { digest: sha256(bytes), mediaType: bareType(got.headers.get("content-type")) || mediaType };
  }

  /** GET a manifest by digest, its bytes checked against the digest. */
  async manifest(digest: string, accept: string[]): Promise<{ mediaType: string; body: unknown }> {
    const res = await this.request("GET", `manifests/${digest}`, accept);
    if (!res.ok) throw await this.refused(res);
    return { mediaType: bareType(res.headers.get("content-type")), body: this.json(await this.checked(res, digest), digest) };
  }

  /** GET a JSON blob (an image config) by digest, checked. */
  async blobJson(digest: string): Promise<unknown> {
    const res = await this.request("GET", `blobs/${digest}`, ["application/vnd.oci.image.config.v1+json", "application/json", "*/*"]);
    if (!res.ok) throw await this.refused(res);
    return this.json(await this.checked(res, digest), digest);
  }

  /** A RegistryError about this registry. */
  error(what: string, opts: { code?: string; status?: number } = {}): RegistryError {
    return new RegistryError(`registry ${this.ref.registry} ${what}`, opts);
  }

  /** A request to /v2/NAME/PATH; a 401 with a Bearer challenge fetches an anonymous token and asks again, once. */
  private async request(method: "HEAD" | "GET", path: string, accept: string[]): Promise<Response> {
    const url = `https://${this.host}/v2/${this.ref.path}/${path}`;
    const send = () =>
      this.call(url, {
        method,
        headers: { accept: accept.join(", "), ...(this.token !== undefined && { authorization: `Bearer ${this.token}` }) },
      });
    const res = await send();
    if (res.status !== 401 || this.token !== undefined) return res;
    const challenge = parseChallenge(res.headers.get("www-authenticate"));
    if (challenge?.scheme === "basic") {
      throw this.error(
        `wants a user name and password for ${this.shown}; hpcjob reads public images anonymously: make the image public, or convert it from your Docker with docker-daemon:`,
        { status: 401 },
      );
    }
    if (challenge?.scheme !== "bearer") return res;
    this.token = await this.anonymousToken(challenge.params);
    await res.body?.cancel();
    return send();
  }

  /** An anonymous pull token from the challenge's realm (Docker's token auth spec: GET realm?service=...&scope=...). */
  private async anonymousToken(params: Record<string, string>): Promise<string> {
    let realm: URL;
    try {
      realm = new URL(params.realm ?? "");
    } catch {
      throw this.error(`asks for a token without a usable realm ("${params.realm ?? ""}") for ${this.shown}`, { status: 401 });
    }
    if (realm.protocol !== "https:")
      throw this.error(`sends hpcjob for a token to ${realm.origin}, which is not HTTPS; hpcjob uses HTTPS only`);
    if (params.service) realm.searchParams.set("service", params.service);
    realm.searchParams.set("scope", params.scope || `repository:${this.ref.path}:pull`);
    const res = await this.call(realm.href, { method: "GET", headers: { accept: "application/json" } });
    if (!res.ok) {
      const { words } = await errorWords(res);
      throw new RegistryError(
        `the token service ${realm.host} of registry ${this.ref.registry} refused ${this.shown} (${res.status}): ${words}`,
        {
          status: res.status,
        },
      );
    }
    const body = this.json(await this.bytes(res), realm.href) as { token?: unknown; access_token?: unknown };
    const token = typeof body.token === "string" && body.token ? body.token : body.access_token;
    if (typeof token !== "string" || token === "")
      throw new RegistryError(
        `the token service ${realm.host} of registry ${this.ref.registry} answered without a token for ${this.shown}`,
      );
    return token;
  }

  /** fetch with the time limit, its failures as one line with the cause and what to do. */
  private async call(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetch(url, { ...init, redirect: "follow", signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      throw unreachable(e, new URL(url).host, this.timeoutMs);
    }
  }

  /** The error for a refusal, in the registry's words, with the usual fix for its code. */
  private async refused(res: Response): Promise<RegistryError> {
    const { code, words } = await errorWords(res);
    const hint = code !== undefined ? HINTS[code] : undefined;
    return this.error(
      `answered ${res.status} for ${this.shown}: ${words}${hint ? `; ${hint}` : res.status === 401 ? `; ${HINTS.UNAUTHORIZED}` : ""}`,
      {
        ...(code !== undefined && { code }),
        status: res.status,
      },
    );
  }

  /** The body's bytes, at most MAX_BODY. */
  private async bytes(res: Response): Promise<Buffer> {
    const length = Number(res.headers.get("content-length") ?? "0");
    if (length > MAX_BODY) throw this.error(`sent ${length} bytes for a manifest of ${this.shown}, more than any manifest has`);
    try {
      const bytes = Buffer.from(await res.arrayBuffer());
      if (bytes.length > MAX_BODY)
        throw this.error(`sent ${bytes.length} bytes for a manifest of ${this.shown}, more than any manifest has`);
      return bytes;
    } catch (e) {
      if (e instanceof RegistryError) throw e;
      throw unreachable(e, this.host, this.timeoutMs);
    }
  }

  /** The body, which must hash to `digest` (content addressing: a registry or proxy cannot swap it). */
  private async checked(res: Response, digest: string): Promise<Buffer> {
    const bytes = await this.bytes(res);
    const got = sha256(bytes);
    if (got !== digest) throw this.error(`sent content whose digest is ${got}, not the ${digest} asked for (${this.shown})`);
    return bytes;
  }

  private json(bytes: Buffer, what: string): unknown {
    try {
      return JSON.parse(bytes.toString("utf8"));
    } catch {
      throw this.error(`sent something that is not JSON for ${what} (${this.shown})`);
    }
  }
}

/** What to do about the registry error codes users meet (Distribution's errcode list). */
const HINTS: Record<string, string> = {
  MANIFEST_UNKNOWN: "check the name and the tag (skopeo list-tags docker://REPOSITORY lists the tags)",
  NAME_UNKNOWN: "check the repository's name",
  UNAUTHORIZED:
    "the image does not exist or is private (Docker Hub says the same for both); check the name, hpcjob reads public images only",
  DENIED: "the image is private; hpcjob reads public images only: make it public or convert it from your Docker with docker-daemon:",
  TOOMANYREQUESTS:
    "the registry's pull limit is reached (Docker Hub counts per address); wait, or pin the image with @sha256 once converted",
};

/** A registry's error words: `CODE: message` for each of `errors[]` (Distribution's error body), else Docker Hub token's `details`, else the status. */
async function errorWords(res: Response): Promise<{ code?: string; words: string }> {
  let text = "";
  try {
    text = await res.text();
  } catch {
    // The status alone must do.
  }
  try {
    const body = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[]; details?: unknown };
    const errors = Array.isArray(body.errors)
      ? body.errors.filter((e) => typeof e?.code === "string" || typeof e?.message === "string")
      : [];
    if (errors.length > 0) {
      const words = errors.map((e) => [e.code, e.message].filter((s) => typeof s === "string" && s !== "").join(": ")).join("; ");
      const code = errors.find((e) => typeof e.code === "string")?.code as string | undefined;
      return code !== undefined ? { code, words } : { words };
    }
    if (typeof body.details === "string" && body.details) return { words: body.details };
  } catch {
    // Not JSON: a proxy's page, say.
  }
  const line = text.trim().split("\n")[0]?.slice(0, 200) ?? "";
  return { words: `${res.status} ${res.statusText}${line && !line.startsWith("<") ? ` (${line})` : ""}`.trim() };
}

/** Certificate errors Node reports (OpenSSL's verify codes as Node names them). */
const CERT_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT_ALTNAME_INVALID/;

/** A fetch that failed before an answer, as one line: the cause and what to do. */
function unreachable(e: unknown, host: string, timeoutMs: number): RegistryError {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === "TimeoutError" || err?.name === "AbortError") {
    return new RegistryError(`registry ${host} did not answer within ${timeoutMs / 1000} s; check the network, or try again later`);
  }
  const code = err?.cause?.code ?? "";
  const why = err?.cause?.message ?? err?.message ?? String(e);
  const fix = CERT_CODES.test(code)
    ? "its certificate is not trusted here: give Node the registry's CA with NODE_EXTRA_CA_CERTS=/path/to/ca.crt (hpcjob never turns verification off)"
    : code === "ENOTFOUND" || code === "EAI_AGAIN"
      ? "check the registry's name (and DNS)"
      : code === "ECONNREFUSED"
        ? "check the registry's host and port, and that it is running"
        : why === "bad port"
          ? "Node's fetch refuses this port (the Fetch standard's list of blocked ports); serve the registry on another port"
          : code === "EPROTO" || /wrong version number/.test(why)
            ? "it may speak plain HTTP, which hpcjob does not use"
            : "check the network";
  return new RegistryError(`cannot reach registry ${host}: ${why}${code && !why.includes(code) ? ` (${code})` : ""}; ${fix}`);
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}
