/**
 * What an image archive on this computer holds, read cheaply: a `docker
 * save` tar's manifest.json and an OCI archive's index.json are found by
 * walking the tar's 512-byte headers (seeking past every file's data), so a
 * 10 GB archive costs a few reads, not an unpacking. Only what identifies
 * the image is read: its digest (a docker-archive's config digest, as
 * `docker image inspect` shows it for the same image; an OCI archive's
 * manifest digest), platform and size; and, for the runtimes whose files
 * hpcjob builds from the layers, the layers' member names and the run
 * config. Plain (uncompressed) tars, as `docker save`, `podman save` and
 * `skopeo copy` write them; `docker save` output is read the same way as it
 * streams to the cluster (TarScanner).
 */
import { open } from "node:fs/promises";
import { posix } from "node:path";
import { z } from "zod";
import { UsageError } from "../core/errors.js";
import type { ImageConfig } from "../runtime/rootfs.js";
import type { ArchiveRef } from "./reference.js";

const BLOCK = 512;
/** Largest JSON file read from an archive (a manifest or config is a few KiB). */
const MAX_JSON = 16 * 1024 * 1024;

/** An image inside an archive: what decides whether its file on the cluster is up to date. */
export interface ArchiveImage {
  /** sha256:... : the config digest of a docker-archive, the manifest digest of an OCI archive. */
  digest: string;
  /** e.g. linux/amd64, from the image's config; "unknown" when it says none. */
  platform: string;
  /** Its layers, bottom first: the tar's members as it spells them. */
  layers: string[];
  /** What it runs with (its config's Env, Entrypoint, Cmd...). */
  config: ImageConfig;
}

/** A tar header's octal number (size), or its base-256 form (GNU, for sizes past 8 GiB). */
function tarNumber(field: Buffer): number {
  if ((field[0] ?? 0) & 0x80) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + (field[i] ?? 0);
    return n;
  }
  const text = field.toString("latin1").replace(/\0.*$/s, "").trim();
  return text === "" ? 0 : Number.parseInt(text, 8);
}

/** A NUL-ended header string. */
function tarString(field: Buffer): string {
  const end = field.indexOf(0);
  return field.toString("utf8", 0, end < 0 ? field.length : end);
}

/** `./a/b` and `a/b` name the same member. */
const normal = (name: string) => name.replace(/^(\.\/)+/, "");

/** One tar header: the member's name as the tar spells it, its type (0 file, 2 symbolic link, L/x long-name records...), data size and link target. */
interface TarHeader {
  raw: string;
  type: string;
  size: number;
  link: string;
}

/** The header in `block`, with the long name a GNU `L` or pax `path` record before it gave; undefined at the end-of-archive block; a UsageError when it is no tar header. */
function tarHeader(block: Buffer, longName: string | undefined, file: string): TarHeader | undefined {
  if (block.every((b) => b === 0)) return undefined;
  if (block.toString("latin1", 257, 262) !== "ustar")
    throw new UsageError(`${file} is not a tar archive (a compressed one? hpcjob reads plain tars, as docker save writes them)`);
  const prefix = tarString(block.subarray(345, 500));
  const short = tarString(block.subarray(0, 100));
  return {
    raw: longName ?? (prefix ? `${prefix}/${short}` : short),
    type: String.fromCharCode(block[156] ?? 0),
    size: tarNumber(block.subarray(124, 136)),
    link: tarString(block.subarray(157, 257)),
  };
}

/** The long name a GNU `L` or pax `x` record's data gives the next member. */
function longNameOf(type: string, data: Buffer): string | undefined {
  if (type === "L") return tarString(data);
  return /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString("utf8"))?.[1];
}

/** A member found in a tar: its name as the tar spells it (tar extracts it by that name), its contents (a regular file's, when asked for), its link target (a symbolic link's). */
export interface TarMember {
  raw: string;
  data?: Buffer;
  link?: string;
}

/** Reads members of one tar by name (names compared without a leading ./); `data` false: names and link targets only. */
export type TarReader = (names: readonly string[], data?: boolean) => Promise<Map<string, TarMember>>;

/**
 * The members of the tar `file` named in `names` (their contents at most
 * MAX_JSON bytes each, unless `data` is false); members not there are absent
 * from the map. Long names (GNU `L` and pax `path` records) are followed.
 */
export async function readTar(file: string, names: readonly string[], data = true): Promise<Map<string, TarMember>> {
  const wanted = new Set(names.map(normal));
  const found = new Map<string, TarMember>();
  const fh = await open(file, "r").catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${file}: ${e.code === "ENOENT" ? "no such file" : e.message}`);
  });
  try {
    const { size } = await fh.stat();
    const block = Buffer.alloc(BLOCK);
    let offset = 0;
    let longName: string | undefined;
    while (offset + BLOCK <= size && found.size < wanted.size) {
      const { bytesRead } = await fh.read(block, 0, BLOCK, offset);
      if (bytesRead < BLOCK) break;
      const h = tarHeader(block, longName, file);
      if (h === undefined) break;
      longName = undefined;
      const at = offset + BLOCK;
      const read = async () => {
        const buf = Buffer.alloc(Math.min(h.size, MAX_JSON));
        await fh.read(buf, 0, buf.length, at);
        return buf;
      };
      const name = normal(h.raw);
      if (h.type === "L" || h.type === "x") longName = longNameOf(h.type, await read());
      else if (wanted.has(name) && !found.has(name)) {
        if (h.type === "0" || h.type === "\0") found.set(name, data ? { raw: h.raw, data: await read() } : { raw: h.raw });
        else if (h.type === "2") found.set(name, { raw: h.raw, link: h.link });
      }
      offset = at + Math.ceil(h.size / BLOCK) * BLOCK;
    }
    return found;
  } finally {
    await fh.close();
  }
}

/** Largest member a TarScanner keeps, and most it keeps in all: an image's manifests and config are a few KiB. */
const SCAN_MEMBER = 1024 * 1024;
const SCAN_TOTAL = 64 * 1024 * 1024;

/**
 * A tar read as it streams past (`docker save` on its way to the cluster):
 * every member's name and link target, and the contents of small regular
 * files (the manifests and config), so the image's layers are known once it
 * has been sent without reading it again.
 */
export class TarScanner {
  private need = BLOCK;
  private got: Buffer[] = [];
  private gotBytes = 0;
  private skip = 0;
  private kept = 0;
  private longName: string | undefined;
  /** The member whose data is being gathered, when it is. */
  private member: TarHeader | undefined;
  private ended = false;
  private readonly found = new Map<string, TarMember>();

  /** @param label how messages name the tar */
  constructor(readonly label: string) {}

  /** Why the bytes are no tar, once they were found to be none (then nothing more is read). */
  private failed: Error | undefined;

  /** The next bytes of the tar; never throws (it runs inside a stream): a stream that is no tar makes `read` reject. */
  push(chunk: Buffer): void {
    try {
      this.scan(chunk);
    } catch (e) {
      this.failed = e as Error;
      this.ended = true;
    }
  }

  private scan(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.ended) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        this.skip -= n;
        at += n;
        continue;
      }
      const n = Math.min(this.need - this.gotBytes, chunk.length - at);
      this.got.push(chunk.subarray(at, at + n));
      this.gotBytes += n;
      at += n;
      if (this.gotBytes === this.need) {
        const buf = Buffer.concat(this.got);
        this.got = [];
        this.gotBytes = 0;
        this.step(buf);
      }
    }
  }

  /** A whole header block, or a whole member's data (padded). */
  private step(buf: Buffer): void {
    const m = this.member;
    if (m !== undefined) {
      this.member = undefined;
      this.need = BLOCK;
      const data = buf.subarray(0, m.size);
      if (m.type === "L" || m.type === "x") this.longName = longNameOf(m.type, data);
      else this.remember(m, data);
      return;
    }
    const h = tarHeader(buf, this.longName, this.label);
    if (h === undefined) {
      this.ended = true;
      return;
    }
    this.longName = undefined;
    const padded = Math.ceil(h.size / BLOCK) * BLOCK;
    const small =
      h.type === "L" ||
      h.type === "x" ||
      ((h.type === "0" || h.type === "\0") && h.size <= SCAN_MEMBER && this.kept + h.size <= SCAN_TOTAL);
    if (small && padded > 0) {
      this.member = h;
      this.need = padded;
      if (h.type !== "L" && h.type !== "x") this.kept += h.size;
    } else {
      this.remember(h, small ? Buffer.alloc(0) : undefined);
      this.skip = padded;
    }
  }

  private remember(h: TarHeader, data: Buffer | undefined): void {
    const name = normal(h.raw);
    if (this.found.has(name)) return;
    if (h.type === "2") this.found.set(name, { raw: h.raw, link: h.link });
    else if (h.type === "0" || h.type === "\0") this.found.set(name, data ? { raw: h.raw, data: Buffer.from(data) } : { raw: h.raw });
  }

  /** The members seen so far, as a TarReader reads them (a large file's contents were not kept). */
  readonly read: TarReader = async (names, data = true) => {
    if (this.failed) throw this.failed;
    const out = new Map<string, TarMember>();
    for (const n of names.map(normal)) {
      const m = this.found.get(n);
      if (m) out.set(n, data ? m : { raw: m.raw, ...(m.link !== undefined ? { link: m.link } : {}) });
    }
    return out;
  };
}

/** JSON of a member, or a UsageError naming the archive. */
function json(members: Map<string, TarMember>, name: string, file: string, what: string): unknown {
  const buf = members.get(normal(name))?.data;
  if (!buf) throw new UsageError(`${file} has no ${name}: it is not ${what}`);
  try {
    return JSON.parse(buf.toString("utf8"));
  } catch {
    throw new UsageError(`${file}'s ${name} is not JSON: it is not ${what}`);
  }
}

/** os/architecture[/variant] of an image config. */
function platformOf(config: unknown): string {
  const c = (config ?? {}) as { os?: string; architecture?: string; variant?: string };
  if (!c.os || !c.architecture) return "unknown";
  return [c.os, c.architecture, ...(c.variant ? [c.variant] : [])].join("/");
}

/** The part of an image config's `config` object a runtime runs the image with (only these keys are kept). */
const imageConfigSchema = z.object({
  Env: z.array(z.string()).nullish(),
  Entrypoint: z.array(z.string()).nullish(),
  Cmd: z.array(z.string()).nullish(),
  WorkingDir: z.string().nullish(),
  Labels: z.record(z.string(), z.string()).nullish(),
  Volumes: z.record(z.string(), z.unknown()).nullish(),
}) satisfies z.ZodType<ImageConfig>;

/** The run configuration of an image config (its `config` object); an empty one when it has none or it is malformed. */
function runConfigOf(config: unknown): ImageConfig {
  const parsed = imageConfigSchema.safeParse((config as { config?: unknown } | undefined)?.config ?? {});
  return parsed.success ? parsed.data : {};
}

const SHA256 = /^sha256:[a-f0-9]{64}$/;

/** The blob path of a digest in an OCI layout. */
const blobPath = (digest: string) => `blobs/${digest.replace(":", "/")}`;

/**
 * The layers named `names` (bottom first) as the tar spells them, for tar to
 * extract: a symbolic link (older `docker save` links a layer shared by two
 * images) is followed to its target; a UsageError for one the tar lacks.
 */
async function layerMembers(read: TarReader, names: readonly string[], file: string, what: string): Promise<string[]> {
  const found = await read(names, false);
  const targets = new Map<string, string>();
  for (const n of names) {
    const m = found.get(normal(n));
    if (m?.link !== undefined) targets.set(n, posix.normalize(posix.join(posix.dirname(normal(n)), m.link)));
  }
  const linked = targets.size ? await read([...targets.values()], false) : new Map<string, TarMember>();
  return names.map((n) => {
    const target = targets.get(n);
    const m = target === undefined ? found.get(normal(n)) : linked.get(normal(target));
    if (m === undefined || m.link !== undefined) throw new UsageError(`${file} lacks the layer ${n} its manifest names: it is not ${what}`);
    return m.raw;
  });
}

/**
 * The image in a `docker save` tar: its manifest.json's entry (the one
 * whose RepoTags hold `ref` when given, else the only one), identified by
 * its config digest (the config file is named by its sha256 in every
 * version of the format).
 */
async function dockerArchiveImage(read: TarReader, file: string, ref: string | undefined): Promise<ArchiveImage> {
  const what = "a docker-archive (a docker save tar)";
  const manifest = json(await read(["manifest.json"]), "manifest.json", file, what);
  const entries = (Array.isArray(manifest) ? manifest : []) as { Config?: string; RepoTags?: string[] | null; Layers?: unknown }[];
  const chosen = ref === undefined ? entries : entries.filter((e) => (e.RepoTags ?? []).some((t) => t === ref || t === `docker.io/${ref}`));
  if (chosen.length !== 1 || !chosen[0]?.Config) {
    const tags = entries.flatMap((e) => e.RepoTags ?? []);
    throw new UsageError(
      ref === undefined
        ? `${file} holds ${entries.length} images; name one: docker-archive:${file}:NAME:TAG (it has ${tags.join(", ") || "no tags"})`
        : `${file} has no image tagged ${ref} (it has ${tags.join(", ") || "no tags"})`,
    );
  }
  const config = chosen[0].Config;
  const hex = /([a-f0-9]{64})(\.json)?$/.exec(config)?.[1];
  if (!hex) throw new UsageError(`${file}'s manifest.json names its config ${config}, not by a sha256 digest`);
  const layers = chosen[0].Layers;
  if (!Array.isArray(layers) || !layers.every((l) => typeof l === "string"))
    throw new UsageError(`${file}'s manifest.json lists no Layers for its image: it is not ${what}`);
  const configJson = await read([config]);
  const parsed = configJson.get(normal(config))?.data ? json(configJson, config, file, what) : undefined;
  return {
    digest: `sha256:${hex}`,
    platform: parsed === undefined ? "unknown" : platformOf(parsed),
    layers: await layerMembers(read, layers, file, what),
    config: runConfigOf(parsed),
  };
}

/** The image in an OCI archive: index.json's manifest (the one annotated with `ref` when given, else the only one), by its digest. */
async function ociArchiveImage(read: TarReader, file: string, ref: string | undefined): Promise<ArchiveImage> {
  const what = "an OCI archive (an OCI image layout in a tar)";
  const index = json(await read(["index.json"]), "index.json", file, what) as {
    manifests?: { digest?: string; annotations?: Record<string, string> }[];
  };
  const all = index.manifests ?? [];
  const named = (m: (typeof all)[number]) => m.annotations?.["org.opencontainers.image.ref.name"];
  const chosen = ref === undefined ? all : all.filter((m) => named(m) === ref);
  const digest = chosen[0]?.digest;
  if (chosen.length !== 1 || digest === undefined || !SHA256.test(digest)) {
    const names = all.map(named).filter((n) => n !== undefined);
    throw new UsageError(
      ref === undefined
        ? `${file} holds ${all.length} images; name one: oci-archive:${file}:NAME (it has ${names.join(", ") || "no names"})`
        : `${file} has no image named ${ref} (it has ${names.join(", ") || "no names"})`,
    );
  }
  const manifest = json(await read([blobPath(digest)]), blobPath(digest), file, what) as {
    config?: { digest?: string };
    layers?: { digest?: string }[];
  };
  const layerDigests = (manifest.layers ?? []).map((l) => l.digest ?? "");
  if (!layerDigests.every((d) => SHA256.test(d))) throw new UsageError(`${file}'s manifest ${digest} names a layer by no sha256 digest`);
  const layers = await layerMembers(read, layerDigests.map(blobPath), file, what);
  const configDigest = manifest.config?.digest;
  if (configDigest === undefined || !SHA256.test(configDigest)) return { digest, platform: "unknown", layers, config: {} };
  const config = await read([blobPath(configDigest)]);
  const parsed = config.get(blobPath(configDigest))?.data ? json(config, blobPath(configDigest), file, what) : undefined;
  return { digest, platform: parsed === undefined ? "unknown" : platformOf(parsed), layers, config: runConfigOf(parsed) };
}

/** The image an archive reference names, read from the archive at `file` (the reference's path resolved). */
export function archiveImage(ref: ArchiveRef, file: string): Promise<ArchiveImage> {
  return imageInTar(ref.kind, (names, data) => readTar(file, names, data), file, ref.ref);
}

/** The image in a tar read by `read` (a file, or `docker save` output as it streamed past), shown as `file` in messages; `ref` names one of several. */
export function imageInTar(kind: ArchiveRef["kind"], read: TarReader, file: string, ref: string | undefined): Promise<ArchiveImage> {
  return kind === "docker-archive" ? dockerArchiveImage(read, file, ref) : ociArchiveImage(read, file, ref);
}
