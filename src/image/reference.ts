/**
 * Image references: what a user types for `--image`, `image:` in hpcjob.yaml
 * or `image convert`, parsed and normalised without I/O, and the names the
 * converters and the image folder give it.
 *
 * A value with a transport prefix is an image to convert: `docker://` (a
 * registry), `docker-daemon:` (the laptop's Docker or Podman),
 * `docker-archive:` (`docker save`'s tar) and `oci-archive:`. Anything else is
 * a path to an image file (.sif, .sqsh, .sqfs or a Charliecloud directory),
 * never a registry name: pyxis reads `--container-image=x.sqsh` as an image on
 * Docker Hub unless it starts with `/` or `.` (pyxis#67), so hpcjob decides by
 * the prefix alone and hands runtimes absolute paths. A value without a prefix
 * that looks like `name:tag` is refused with the `docker://` spelling to use.
 */
import { createHash } from "node:crypto";
import { UsageError } from "../core/errors.js";
import { subject } from "../core/values.js";
import { DIGEST_ONLY, DOCKER_HUB, isDomain, LOOKS_LIKE_DIGEST, nameProblem, splitDomain, TAG_ONLY, TAG_RULE } from "./grammar.js";

/** An image in a registry, normalised as Docker does (docker.io, library/, tag latest). */
export interface DockerRef {
  kind: "docker";
  /** The registry as Docker names it: `docker.io` for Docker Hub, else host[:port] in lowercase. */
  registry: string;
  /** The repository inside it: `library/ubuntu`, `nvidia/pytorch`. */
  path: string;
  /** The tag; `latest` when none was given, undefined only for a digest given alone. */
  tag?: string;
  /** `sha256:` + 64 hex digits when the reference pins one. */
  digest?: string;
}

/** An image in the local Docker (or Podman) daemon: the name as typed, so that Podman's `localhost/` names still match. */
export interface DaemonRef {
  kind: "docker-daemon";
  name: string;
  tag?: string;
  digest?: string;
}

/** A `docker save` tar or an OCI archive, with skopeo's optional image reference inside it. */
export interface ArchiveRef {
  kind: "docker-archive" | "oci-archive";
  path: string;
  ref?: string;
}

/** A path to an image file or directory the runtime runs as it is. */
export interface FileRef {
  kind: "file";
  path: string;
}

/** Any image a user may name. */
export type ImageRef = DockerRef | DaemonRef | ArchiveRef | FileRef;

/** An image named on the user's computer: in its Docker (or Podman) daemon, or an archive file. */
export type LocalRef = DaemonRef | ArchiveRef;

/** An image hpcjob converts into the file the cluster's runtime runs: in a registry, or on the user's computer. */
export type ConvertibleRef = DockerRef | LocalRef;

/** The transports `image convert` reads, as messages list them. */
const TRANSPORTS = "docker://, docker-daemon:, docker-archive: or oci-archive:";
/** Prefixes of other tools' transports (skopeo, Apptainer) hpcjob does not convert from. */
const OTHER_TRANSPORT = /^(oci|dir|containers-storage|ostree|sif|atomic|tarball):/i;

/**
 * Parse an image as typed. `from` names where it was given (`--image`,
 * `hpcjob.yaml:3 image:`) for messages. Throws a UsageError (exit 2) whose
 * one line says what to write instead.
 */
export function parseImage(text: string, from?: string): ImageRef {
  const bad = (why: string, fix: string) => new UsageError(`${subject(from, text)} ${why}; ${fix}`);
  if (text.trim() === "") throw bad("is empty", `give docker://NAME:TAG or the path of an image file`);
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:/.exec(text)?.[0].toLowerCase() ?? "";
  const rest = text.slice(scheme.length);
  if ((scheme === "docker:" || scheme === "docker-daemon:") && /\s/.test(rest)) {
    throw bad("contains white space", "image names have none: fix the name, e.g. docker://ubuntu:22.04");
  }
  if (scheme === "docker:" && rest.startsWith("//")) return parseDocker(rest.slice(2), bad);
  if (scheme === "docker:") throw bad("lacks the // of docker://", `write docker://${rest}`);
  if (scheme === "docker-daemon:") return parseDaemon(rest.replace(/^\/\//, ""), bad);
  if (scheme === "docker-archive:" || scheme === "oci-archive:") return parseArchive(scheme.slice(0, -1) as ArchiveRef["kind"], rest, bad);
  if (rest.startsWith("//") || OTHER_TRANSPORT.test(text)) {
    throw bad(`is not an image hpcjob converts`, `it reads ${TRANSPORTS}, or the path of a .sif, .sqsh or .sqfs file`);
  }
  // No transport: a path. A colon means someone left out docker:// (`ubuntu:22.04`), not a file
  // name; say so rather than let a runtime guess (pyxis#67).
  if (text.includes(":") && !/^(\/|\.{1,2}\/|~)/.test(text)) {
    throw bad(
      "has no transport",
      `write docker://${text} for an image in a registry, docker-daemon:${text} for your Docker's, or ./${text} for a file`,
    );
  }
  return { kind: "file", path: text };
}

type Bad = (why: string, fix: string) => UsageError;

/** `docker://[REGISTRY[:PORT]/]PATH[:TAG][@sha256:HEX]`, by Docker's rules (distribution/reference, normalize.go). */
function parseDocker(rest: string, bad: Bad): DockerRef {
  const { name, tag, digest } = splitRef(rest, bad, "docker://");
  const split = splitDomain(name);
  if (split.domain !== undefined && !isDomain(split.domain)) {
    throw bad(
      `has a registry "${split.domain}" that is not a host name`,
      split.domain.startsWith("[")
        ? "IPv6 addresses are not supported: use the registry's host name"
        : "write docker://HOST[:PORT]/PATH:TAG",
    );
  }
  const registry = canonicalRegistry(split.domain);
  const problem = nameProblem(split.path);
  if (problem !== undefined) {
    throw problem.lower !== undefined
      ? bad(
          "has capital letters",
          `repository names are lowercase: write docker://${split.domain ? `${split.domain}/` : ""}${problem.lower}${suffix(tag, digest)}`,
        )
      : bad(`has an invalid repository name "${split.path}"`, `${problem.rule}, e.g. docker://ubuntu:22.04`);
  }
  // Docker Hub's official images live under library/ (docker pull ubuntu = docker.io/library/ubuntu).
  const path = registry === DOCKER_HUB && !split.path.includes("/") ? `library/${split.path}` : split.path;
  if (`${registry}/${path}`.length > 255) throw bad("is too long", "a repository name is at most 255 characters (Docker's limit)");
  return { kind: "docker", registry, path, ...tagged(tag, digest) };
}

/** `docker-daemon:NAME[:TAG][@DIGEST]`: skopeo and Apptainer need a tag, so latest is written out. */
function parseDaemon(rest: string, bad: Bad): DaemonRef {
  if (/^sha256:[a-f0-9]{64}$/.test(rest)) {
    throw bad("is an image ID", "give the image's name and tag as docker images lists them, e.g. docker-daemon:myproject:1.0");
  }
  const { name, tag, digest } = splitRef(rest, bad, "docker-daemon:");
  const split = splitDomain(name);
  const problem = nameProblem(split.path);
  if ((split.domain !== undefined && !isDomain(split.domain)) || problem !== undefined) {
    const lower = problem?.lower;
    throw lower !== undefined && split.domain === undefined
      ? bad("has capital letters", `image names are lowercase: write docker-daemon:${lower}${suffix(tag, digest)}`)
      : bad(`has an invalid image name "${name}"`, "give it as docker images lists it, e.g. docker-daemon:myproject:1.0");
  }
  return {
    kind: "docker-daemon",
    name: split.domain === undefined ? split.path : `${split.domain.toLowerCase()}/${split.path}`,
    ...tagged(tag, digest),
  };
}

/** `docker-archive:PATH[:REF]`, `oci-archive:PATH[:REF]`: skopeo splits at the first colon, so a path cannot hold one. */
function parseArchive(kind: ArchiveRef["kind"], rest: string, bad: Bad): ArchiveRef {
  const colon = rest.indexOf(":");
  const path = colon < 0 ? rest : rest.slice(0, colon);
  const ref = colon < 0 ? undefined : rest.slice(colon + 1);
  if (path === "") throw bad("names no file", `write ${kind}:/path/to/image.tar`);
  if (ref === "") throw bad("ends in a colon", `drop it, or name the image inside the archive: ${kind}:${path}:NAME:TAG`);
  return ref === undefined ? { kind, path } : { kind, path, ref };
}

/** NAME[:TAG][@DIGEST] split and checked: the tag is after the last colon that follows the last slash. */
function splitRef(rest: string, bad: Bad, prefix: string): { name: string; tag?: string; digest?: string } {
  const at = rest.indexOf("@");
  const nameTag = at < 0 ? rest : rest.slice(0, at);
  const digest = at < 0 ? undefined : rest.slice(at + 1);
  if (digest !== undefined && !DIGEST_ONLY.test(digest)) {
    throw LOOKS_LIKE_DIGEST.test(digest) && !digest.startsWith("sha256:")
      ? bad(`has a ${digest.split(":")[0]} digest`, "hpcjob reads sha256 digests (sha256: and 64 hex digits), the kind registries give")
      : bad(
          `has an invalid digest "${digest}"`,
          "a digest is sha256: and 64 lowercase hex digits; copy it from docker images --digests or the registry",
        );
  }
  const colon = nameTag.lastIndexOf(":");
  const hasTag = colon > nameTag.lastIndexOf("/");
  const name = hasTag ? nameTag.slice(0, colon) : nameTag;
  const tag = hasTag ? nameTag.slice(colon + 1) : undefined;
  if (name === "" || name.endsWith("/") || name.startsWith("/"))
    throw bad("names no image", `write ${prefix}NAME:TAG, e.g. ${prefix}ubuntu:22.04`);
  if (tag !== undefined && !TAG_ONLY.test(tag)) throw bad(`has an invalid tag "${tag}"`, `${TAG_RULE}; e.g. ${prefix}${name}:1.0`);
  if (/^[a-f0-9]{64}$/.test(name)) throw bad("is an image ID, not a name", `give the name and tag, e.g. ${prefix}ubuntu:22.04`);
  return { name, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

/** Docker's tag default: latest, unless a digest alone was given. */
function tagged(tag: string | undefined, digest: string | undefined): { tag?: string; digest?: string } {
  const t = tag ?? (digest === undefined ? "latest" : undefined);
  return { ...(t !== undefined && { tag: t }), ...(digest !== undefined && { digest }) };
}

/** The :TAG@DIGEST a fixed name is shown with in messages. */
function suffix(tag: string | undefined, digest: string | undefined): string {
  return `${tag !== undefined ? `:${tag}` : ""}${digest !== undefined ? `@${digest}` : ""}`;
}

/** Docker Hub's other names are Docker Hub (normalize.go for index.docker.io; registry-1.docker.io is its API host). */
function canonicalRegistry(domain: string | undefined): string {
  const host = domain?.toLowerCase() ?? DOCKER_HUB;
  return host === "index.docker.io" || host === "registry-1.docker.io" ? DOCKER_HUB : host;
}

/** The reference as hpcjob records it: `docker://docker.io/library/ubuntu:latest`, `docker-daemon:myproject:1.0`, or the path. */
export function canonicalRef(ref: ImageRef): string {
  switch (ref.kind) {
    case "docker":
      return `docker://${ref.registry}/${ref.path}${suffix(ref.tag, ref.digest)}`;
    case "docker-daemon":
      return `docker-daemon:${ref.name}${suffix(ref.tag, ref.digest)}`;
    case "docker-archive":
    case "oci-archive":
      return `${ref.kind}:${ref.path}${ref.ref !== undefined ? `:${ref.ref}` : ""}`;
    case "file":
      return ref.path;
  }
}

/**
 * The registry reference a converter pulls: pinned to `digest` when given
 * (so a tag that moves after hpcjob resolved it cannot change what is
 * converted), else the reference's own. Tag and digest are never both
 * written: skopeo (Apptainer's library) refuses that form.
 */
export function dockerUri(ref: DockerRef, digest = ref.digest): string {
  return `docker://${ref.registry}/${ref.path}${digest !== undefined ? `@${digest}` : `:${ref.tag ?? "latest"}`}`;
}

/** True when the user named no tag, or `latest`, and no digest: the tag may move under them (worth a warning). */
export function isLatest(ref: ImageRef): boolean {
  return (ref.kind === "docker" || ref.kind === "docker-daemon") && ref.digest === undefined && ref.tag === "latest";
}

/**
 * The reference in `enroot import`'s syntax, `docker://[REGISTRY#]PATH:TAG`
 * (enroot's src/docker.sh). Before enroot 4 a registry is only read after
 * `#` (`nvcr.io/nvidia/pytorch` would be looked up on Docker Hub), so it is
 * always written that way; Docker Hub is written without one, as enroot's
 * default registry, because enroot up to 4.1.2 takes `docker.io#` literally.
 * A digest (given, or `digest` to pin) is written `@sha256:...`, which needs
 * enroot 4.0 or later.
 */
export function enrootUri(ref: DockerRef, digest = ref.digest): string {
  const at = digest !== undefined ? `@${digest}` : `:${ref.tag ?? "latest"}`;
  if (ref.registry === DOCKER_HUB) return `docker://${familiarPath(ref.path)}${at}`;
  return `docker://${ref.registry}#${ref.path}${at}`;
}

/** Docker Hub's official images without library/ (ubuntu), as Docker shows them. */
function familiarPath(path: string): string {
  const rest = path.startsWith("library/") ? path.slice("library/".length) : path;
  return rest.includes("/") ? path : rest;
}

/** Longest file stem hpcjob makes (file names may have 255 bytes; the extension and a temporary suffix need room). */
const MAX_STEM = 200;

/**
 * The file name (without extension) hpcjob gives an image converted from
 * `ref` whose content has `digest`, for every runtime: the registry, every
 * path component, the tag, and the first 12 hex digits of the digest, joined
 * by `+` (which no part can contain), e.g.
 * `nvcr.io+nvidia+pytorch+24.01-py3+1a2b3c4d5e6f`. Unlike Apptainer's and
 * enroot's default names it keeps the registry (`nvcr.io/nvidia/pytorch:X`
 * and `pytorch/pytorch:X` differ), and a tag moved to new content gets a new
 * file. `:` of a port becomes `_` (`127.0.0.1_5443`); no part starts with `.`
 * or `-`. Names longer than 200 characters are shortened, with a hash of
 * the full name kept.
 */
export function fileStem(ref: Exclude<ImageRef, FileRef>, digest: string): string {
  if (!DIGEST_ONLY.test(digest)) throw new Error(`fileStem: not a sha256 digest: ${digest}`);
  const parts = stemParts(ref).map((p) => p.replaceAll(":", "_").replaceAll("/", "+"));
  const readable = parts.join("+");
  const hex = digest.slice("sha256:".length, "sha256:".length + 12);
  if (readable.length + 13 <= MAX_STEM) return `${readable}+${hex}`;
  const hash = createHash("sha256").update(readable).digest("hex").slice(0, 8);
  return `${readable.slice(0, MAX_STEM - 23).replace(/[+._-]+$/, "")}+${hash}+${hex}`;
}

/** The readable parts of a stem, before sanitising. */
function stemParts(ref: Exclude<ImageRef, FileRef>): string[] {
  switch (ref.kind) {
    case "docker":
      return [ref.registry, ref.path, ...(ref.tag !== undefined ? [ref.tag] : [])];
    case "docker-daemon":
      return ["daemon", ref.name, ...(ref.tag !== undefined ? [ref.tag] : [])];
    case "docker-archive":
    case "oci-archive": {
      const base = (ref.path.split("/").pop() ?? "").replace(/\.(tar|tar\.gz|tgz)$/, "");
      return [ref.kind === "docker-archive" ? "archive" : "oci-archive", safe(base), ...(ref.ref !== undefined ? [safe(ref.ref)] : [])];
    }
  }
}

/** A user's file name or archive reference in the characters stems use: letters, digits, `.`, `_`, `-`, not first `.` or `-`. */
function safe(s: string): string {
  const cleaned = s.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^[.-]+/, "");
  return cleaned === "" ? "image" : cleaned;
}
