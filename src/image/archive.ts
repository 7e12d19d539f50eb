/**
 * What an image archive on this computer holds, read cheaply: a `docker
 * save` tar's manifest.json and an OCI archive's index.json are found by
 * walking the tar's 512-byte headers (seeking past every file's data), so a
 * 10 GB archive costs a few reads, not an unpacking. Only what identifies
 * the image is read: its digest (a docker-archive's config digest, as
 * `docker image inspect` shows it for the same image; an OCI archive's
 * manifest digest), platform and size. Plain (uncompressed) tars, as
 * `docker save`, `podman save` and `skopeo copy` write them.
 */
import { open } from "node:fs/promises";
import { UsageError } from "../core/errors.js";
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

/**
 * The contents of the members of the tar `file` named in `names` (at most
 * MAX_JSON bytes each); members not there are absent from the map. Long
 * names (GNU `L` and pax `path` records) are followed.
 */
export async function readTarMembers(file: string, names: readonly string[]): Promise<Map<string, Buffer>> {
  const wanted = new Set(names.map(normal));
  const found = new Map<string, Buffer>();
  const fh = await open(file, "r").catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${file}: ${e.code === "ENOENT" ? "no such file" : e.message}`);
  });
  try {
    const { size } = await fh.stat();
    const header = Buffer.alloc(BLOCK);
    let offset = 0;
    let longName: string | undefined;
    while (offset + BLOCK <= size && found.size < wanted.size) {
      const { bytesRead } = await fh.read(header, 0, BLOCK, offset);
      if (bytesRead < BLOCK || header.every((b) => b === 0)) break;
      const magic = header.toString("latin1", 257, 262);
      if (magic !== "ustar")
        throw new UsageError(`${file} is not a tar archive (a compressed one? hpcjob reads plain tars, as docker save writes them)`);
      const length = tarNumber(header.subarray(124, 136));
      const type = String.fromCharCode(header[156] ?? 0);
      const prefix = tarString(header.subarray(345, 500));
      const name = normal(longName ?? (prefix ? `${prefix}/${tarString(header.subarray(0, 100))}` : tarString(header.subarray(0, 100))));
      longName = undefined;
      const data = offset + BLOCK;
      const read = async () => {
        const buf = Buffer.alloc(Math.min(length, MAX_JSON));
        await fh.read(buf, 0, buf.length, data);
        return buf;
      };
      if (type === "L") longName = tarString(await read());
      else if (type === "x") longName = /(?:^|\n)\d+ path=([^\n]*)\n/.exec((await read()).toString("utf8"))?.[1];
      else if ((type === "0" || type === "\0") && wanted.has(name) && !found.has(name)) found.set(name, await read());
      offset = data + Math.ceil(length / BLOCK) * BLOCK;
    }
    return found;
  } finally {
    await fh.close();
  }
}

/** JSON of a member, or a UsageError naming the archive. */
function json(members: Map<string, Buffer>, name: string, file: string, what: string): unknown {
  const buf = members.get(name);
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

const SHA256 = /^sha256:[a-f0-9]{64}$/;

/** The blob path of a digest in an OCI layout. */
const blobPath = (digest: string) => `blobs/${digest.replace(":", "/")}`;

/**
 * The image in a `docker save` tar: its manifest.json's entry (the one
 * whose RepoTags hold `ref` when given, else the only one), identified by
 * its config digest (the config file is named by its sha256 in every
 * version of the format).
 */
async function dockerArchiveImage(file: string, ref: string | undefined): Promise<ArchiveImage> {
  const what = "a docker-archive (a docker save tar)";
  const manifest = json(await readTarMembers(file, ["manifest.json"]), "manifest.json", file, what);
  const entries = (Array.isArray(manifest) ? manifest : []) as { Config?: string; RepoTags?: string[] | null }[];
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
  const configJson = await readTarMembers(file, [config]);
  return { digest: `sha256:${hex}`, platform: configJson.has(config) ? platformOf(json(configJson, config, file, what)) : "unknown" };
}

/** The image in an OCI archive: index.json's manifest (the one annotated with `ref` when given, else the only one), by its digest. */
async function ociArchiveImage(file: string, ref: string | undefined): Promise<ArchiveImage> {
  const what = "an OCI archive (an OCI image layout in a tar)";
  const index = json(await readTarMembers(file, ["index.json"]), "index.json", file, what) as {
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
  const manifest = json(await readTarMembers(file, [blobPath(digest)]), blobPath(digest), file, what) as { config?: { digest?: string } };
  const configDigest = manifest.config?.digest;
  if (configDigest === undefined || !SHA256.test(configDigest)) return { digest, platform: "unknown" };
  const config = await readTarMembers(file, [blobPath(configDigest)]);
  return {
    digest,
    platform: config.has(blobPath(configDigest)) ? platformOf(json(config, blobPath(configDigest), file, what)) : "unknown",
  };
}

/** The image an archive reference names, read from the archive at `file` (the reference's path resolved). */
export function archiveImage(ref: ArchiveRef, file: string): Promise<ArchiveImage> {
  return ref.kind === "docker-archive" ? dockerArchiveImage(file, ref.ref) : ociArchiveImage(file, ref.ref);
}
