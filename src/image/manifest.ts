/**
 * Image manifests and indexes as registries serve them (OCI image-spec
 * manifest.md and image-index.md; Docker's Image Manifest V2 Schema 2 and
 * its manifest list): their media types, the entry of an index for one
 * platform, and a manifest's layers. Pure.
 */

/** Docker's manifest list and the OCI index: one manifest per platform. */
export const INDEX_TYPES = ["application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.oci.image.index.v1+json"];
/** Docker's schema 2 manifest and the OCI manifest: one image. */
export const MANIFEST_TYPES = ["application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json"];
/** Schema 1, which Docker stopped reading in 2023 (Docker Engine 25) and hpcjob does not read either. */
const SCHEMA1 = /^application\/vnd\.docker\.distribution\.manifest\.v1\+/;

/** An operating system and CPU (the OCI platform object). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** What cluster nodes run unless told otherwise. */
export const LINUX_AMD64: Platform = { os: "linux", architecture: "amd64" };

/** One entry of an index. */
interface IndexEntry {
  mediaType?: string;
  digest: string;
  platform?: Platform;
}

/** A manifest's config and layers, as hpcjob needs them. */
export interface ImageManifest {
  config: { digest: string; size: number };
  layers: { digest: string; size: number }[];
}

/** What a manifest body is: an index, an image manifest, schema 1, or unknown; by its media type, else by its fields. */
export function kindOf(mediaType: string | undefined, body: unknown): "index" | "manifest" | "schema1" | "unknown" {
  const type = mediaType || (isObject(body) && typeof body.mediaType === "string" ? body.mediaType : "");
  if (INDEX_TYPES.includes(type)) return "index";
  if (MANIFEST_TYPES.includes(type)) return "manifest";
  if (SCHEMA1.test(type) || (isObject(body) && body.schemaVersion === 1)) return "schema1";
  if (type === "" && isObject(body)) return Array.isArray(body.manifests) ? "index" : Array.isArray(body.layers) ? "manifest" : "unknown";
  return "unknown";
}

/** The media type without parameters (`; charset=utf-8`), lowercased; "" when absent. */
export function bareType(contentType: string | null): string {
  return (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/** "linux/amd64", "linux/arm64/v8". */
export function platformName(p: Platform): string {
  return [p.os, p.architecture, ...(p.variant ? [p.variant] : [])].join("/");
}

/** The variant a platform has when none is written (containerd's platforms.Normalize). */
const DEFAULT_VARIANT: Record<string, string> = { amd64: "v1", arm64: "v8" };

/** True when `have` runs where `want` is asked for: the same os and architecture, and the same variant (a missing one is the default). */
export function platformMatches(have: Platform, want: Platform): boolean {
  const variant = (p: Platform) => p.variant ?? DEFAULT_VARIANT[p.architecture];
  return have.os === want.os && have.architecture === want.architecture && variant(have) === variant(want);
}

/**
 * The entries of an index body and the one for `want` (undefined when it
 * has none). Attestations that buildx adds (platform unknown/unknown) match
 * nothing, so they are never chosen.
 */
export function chooseEntry(body: unknown, want: Platform): { entries: IndexEntry[]; chosen?: IndexEntry } {
  const list = isObject(body) && Array.isArray(body.manifests) ? body.manifests : [];
  const entries = list.filter(
    (e): e is IndexEntry => isObject(e) && typeof e.digest === "string" && (e.platform === undefined || isPlatform(e.platform)),
  );
  const chosen = entries.find(
    (e) => e.platform !== undefined && platformMatches(e.platform, want) && !INDEX_TYPES.includes(e.mediaType ?? ""),
  );
  return chosen === undefined ? { entries } : { entries, chosen };
}

/** An image manifest's config and layers, or undefined when the body lacks them. */
export function readManifest(body: unknown): ImageManifest | undefined {
  if (!isObject(body) || !isDescriptor(body.config) || !Array.isArray(body.layers) || !body.layers.every(isDescriptor)) return undefined;
  return {
    config: { digest: body.config.digest, size: body.config.size },
    layers: body.layers.map((l) => ({ digest: l.digest, size: l.size })),
  };
}

/** The platform an image config says it is for, or undefined. */
export function configPlatform(body: unknown): Platform | undefined {
  return isPlatform(body)
    ? { os: body.os, architecture: body.architecture, ...(body.variant ? { variant: body.variant } : {}) }
    : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isPlatform(v: unknown): v is Platform {
  return (
    isObject(v) &&
    typeof v.os === "string" &&
    typeof v.architecture === "string" &&
    (v.variant === undefined || typeof v.variant === "string")
  );
}

function isDescriptor(v: unknown): v is { digest: string; size: number } {
  return isObject(v) && typeof v.digest === "string" && typeof v.size === "number" && Number.isSafeInteger(v.size) && v.size >= 0;
}
