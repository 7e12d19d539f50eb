/**
 * Images on the computer hpcjob runs on (`docker-archive:FILE`,
 * `oci-archive:FILE`, `docker-daemon:IMG:TAG`). Their identity is read here,
 * cheaply: an archive's manifest.json or index.json (image/archive.ts, with
 * its layers and config, which enroot and Charliecloud clusters build their
 * file from), the daemon's image ID (`docker image inspect`, else podman's;
 * its layers are read from `docker save`'s output as it is sent). When the cluster's file is not up
 * to date the image is streamed to the conversion's scratch folder there
 * through the one SSH connection (`docker save` piped straight in: no copy
 * in this computer's /tmp) and the converter reads it as docker-archive: or
 * oci-archive:. On the login node itself an archive is used where it is, and
 * a daemon's image is saved to the scratch folder the same way (a conversion
 * job on a compute node cannot reach this node's daemon, and the saved image
 * is the one whose ID was read).
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { type Readable, Transform } from "node:stream";
import { ExecError, UsageError } from "../core/errors.js";
import type { Executor } from "../exec/executor.js";
import { LocalExecutor, onPath, streamOutput } from "../exec/local.js";
import { archiveImage, imageInTar, TarScanner } from "../image/archive.js";
import { archiveSource } from "../image/conversion.js";
import { canonicalRef, type DaemonRef, type LocalRef } from "../image/reference.js";
import type { ImageConfig } from "../runtime/rootfs.js";
import type { Context } from "./context.js";

/** What is known of a local image before anything is sent: its identity, platform and size. */
export interface LocalImage {
  digest: string;
  platform: string;
  /** Bytes sent for it (the archive's size; the daemon's image size), for the cluster's free-space check. */
  size: number;
  /** The archive's absolute path here. */
  path?: string;
  /** The program that has the daemon's image: docker, or podman where there is no Docker. */
  tool?: string;
  /** An archive's layers (its members, bottom first) and run config; a daemon's are known once it is saved. */
  layers?: ImageLayers;
}

/** An image's layers, as members of its archive, and what it runs with. */
export interface ImageLayers {
  layers: string[];
  config: ImageConfig;
}

/** sha256:HEX from Docker's `sha256:HEX` or podman's bare HEX. */
function idDigest(id: string): string | undefined {
  const hex = /^(?:sha256:)?([a-f0-9]{64})$/.exec(id.trim())?.[1];
  return hex === undefined ? undefined : `sha256:${hex}`;
}

/** NAME:TAG (or NAME@DIGEST) as the daemon takes it. */
function daemonName(ref: DaemonRef): string {
  return ref.digest !== undefined ? `${ref.name}@${ref.digest}` : `${ref.name}:${ref.tag ?? "latest"}`;
}

/** The daemon's image: `docker image inspect`, else podman's (the first of them on PATH that has it). */
async function daemonImage(ref: DaemonRef, ctx: Context): Promise<LocalImage> {
  const tools = ["docker", "podman"].filter((t) => onPath(ctx.env, t));
  if (tools.length === 0)
    throw new UsageError(`${canonicalRef(ref)} names an image in the local Docker, but neither docker nor podman is on PATH here`);
  const local = new LocalExecutor({ env: ctx.env });
  const said: string[] = [];
  for (const tool of tools) {
    const r = await local.run([tool, "image", "inspect", "--format", "{{.Id}} {{.Size}} {{.Os}}/{{.Architecture}}", daemonName(ref)]);
    const [id = "", size = "", platform = "unknown"] = r.stdout.trim().split(" ");
    const digest = idDigest(id);
    if (r.code === 0 && digest !== undefined) return { digest, platform, size: Number(size) || 0, tool };
    said.push(`${tool}: ${r.stderr.trim().split("\n").pop() ?? `exit ${r.code}`}`);
  }
  throw new UsageError(`no image ${daemonName(ref)} in the local ${tools.join(" or ")} (${said.join("; ")})`);
}

/** The image `ref` names on this computer: its digest, platform and size, read without unpacking or sending anything. */
export async function localImage(ref: LocalRef, ctx: Context): Promise<LocalImage> {
  if (ref.kind === "docker-daemon") return daemonImage(ref, ctx);
  const path = isAbsolute(ref.path) ? ref.path : resolve(ctx.cwd, ref.path);
  const { size } = await stat(path).catch(() => {
    throw new UsageError(`${canonicalRef(ref)}: there is no file ${path}`);
  });
  const { digest, platform, layers, config } = await archiveImage(ref, path);
  return { digest, platform, size, path, layers: { layers, config } };
}

/** How often (at most) a progress line says how much was sent. */
const PROGRESS_EVERY_MS = 1000;
const MIB = 1024 * 1024;

/** `stream` as it is, reporting the bytes that passed about once a second; `scanner` sees every byte. */
function counted(stream: Readable, shown: string, ctx: Context, scanner?: TarScanner): Readable {
  let sent = 0;
  let at = Date.now();
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      sent += chunk.length;
      scanner?.push(chunk);
      if (Date.now() - at >= PROGRESS_EVERY_MS) {
        at = Date.now();
        ctx.report({ kind: "progress", text: `sent ${Math.floor(sent / MIB)} MiB of ${shown}` });
      }
      done(null, chunk);
    },
  });
  stream.on("error", (e) => counter.destroy(e));
  return stream.pipe(counter);
}

/** The layers and config of the image `docker save` wrote, read as it streamed past; an ExecError when its output was no image. */
async function savedLayers(scanner: TarScanner): Promise<ImageLayers> {
  try {
    const { layers, config } = await imageInTar("docker-archive", scanner.read, scanner.label, undefined);
    return { layers, config };
  } catch (e) {
    throw new ExecError(`${scanner.label} wrote no image hpcjob can unpack: ${(e as Error).message}`);
  }
}

/** Where the image is put on the cluster: the profile's tmpDir, else the run directory for a job (a compute node sees it), else $TMPDIR or /tmp there. */
async function scratchDir(exec: Executor, where: StageWhere): Promise<string> {
  if (where.tmpDir !== undefined) return where.tmpDir;
  if (where.job) return where.runDir;
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the login node's shell expands it
  const r = await exec.run(["sh", "-c", 'printf %s "${TMPDIR:-/tmp}"']);
  return r.code === 0 && r.stdout.startsWith("/") ? r.stdout : "/tmp";
}

/** The conversion's folders on the cluster: the profile's scratch folder (resolved there) if it names one, the run directory, and whether it runs as a job. */
export interface StageWhere {
  tmpDir?: string;
  runDir: string;
  job: boolean;
  /** The cluster's file is built from the image's layers: a daemon's layers are read from what was sent. */
  layers?: boolean;
}

/** The image where the converter reads it: its source (docker-archive:PATH or oci-archive:PATH), and how to remove what was sent. */
export interface Staged {
  source: string;
  /** The archive's path on the cluster. */
  path: string;
  /** Its layers and run config: an archive's as read here, a daemon image's from what was sent (when asked for). */
  layers?: ImageLayers;
  /** The file sent to the cluster (none for an archive used where it is). */
  file?: string;
  /** Removes the file sent (nothing for an archive used where it is); safe to call whatever happened. */
  remove: () => Promise<void>;
}

/**
 * Put the image where the cluster's converter reads it: an archive on the
 * login node itself where it is; else streamed (the archive, or `docker
 * save`'s output) into a new file in the scratch folder through `exec`'s one
 * connection. The file is the caller's to remove (`remove`), whatever happens.
 */
export async function stageImage(exec: Executor, ref: LocalRef, image: LocalImage, where: StageWhere, ctx: Context): Promise<Staged> {
  const inside = ref.kind !== "docker-daemon" ? ref.ref : undefined;
  if (ref.kind !== "docker-daemon" && !exec.remote && image.path) {
    return { source: archiveSource(ref.kind, image.path, inside), path: image.path, layers: image.layers, remove: async () => {} };
  }
  const dir = await scratchDir(exec, where);
  await exec.mkdir(dir, 0o700);
  const made = await exec.run(["mktemp", "-p", dir, "hpcjob-image.XXXXXXXX"]);
  const file = made.stdout.trim();
  if (made.code !== 0 || file === "")
    throw new ExecError(`could not create a file in ${dir} on the cluster for the image`, [made.stderr.trim()]);
  const remove = async () => {
    await exec.run(["rm", "-f", "--", file]).catch(() => undefined);
  };
  try {
    const shown = canonicalRef(ref);
    const saving = ref.kind === "docker-daemon" ? streamOutput([image.tool ?? "docker", "save", daemonName(ref)], ctx.env) : undefined;
    const input = saving ? saving.stdout : createReadStream(image.path ?? "");
    const scanner = saving && where.layers ? new TarScanner(`docker save ${daemonName(ref as DaemonRef)}`) : undefined;
    ctx.report({ kind: "note", text: `sending ${shown} to ${file} on the cluster` });
    const r = await exec.runWithInput(["sh", "-c", 'cat >"$1"', "sh", file], counted(input, shown, ctx, scanner));
    // Ended early (the cluster's disk full, the connection lost): a `docker save` still writing must not wait for a reader.
    input.destroy();
    const saved = await saving?.done;
    if (saved && saved.code !== 0) {
      throw new ExecError(
        `${image.tool} save ${canonicalRef(ref).slice("docker-daemon:".length)} failed (exit ${saved.code})`,
        saved.stderr.trim().split("\n").slice(-4),
      );
    }
    if (r.code !== 0) throw new ExecError(`could not write ${file} on the cluster (exit ${r.code})`, r.stderr.trim().split("\n").slice(-4));
    // Pinned: a tag moved while it was saved (a build finishing meanwhile) would be converted under the ID read first.
    if (ref.kind === "docker-daemon" && (await daemonImage(ref, ctx)).digest !== image.digest) {
      throw new ExecError(`${shown} changed while it was sent (its image ID is no longer ${image.digest}); run the command again`);
    }
    const sent = (await exec.stat(file))?.size ?? 0;
    ctx.report({ kind: "progress", text: `sent ${Math.round(sent / MIB)} MiB of ${shown}` });
    const layers = scanner ? await savedLayers(scanner) : image.layers;
    return {
      source: archiveSource(ref.kind === "docker-daemon" ? "docker-archive" : ref.kind, file, inside),
      path: file,
      layers,
      file,
      remove,
    };
  } catch (e) {
    await remove();
    throw e;
  }
}
