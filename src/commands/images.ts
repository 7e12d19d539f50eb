/**
 * `hpcjob image ls` and `image rm`: the images in the cluster's image folder
 * (the profile's container.imageDir), where `image convert` puts them. One
 * command on the cluster lists the folder with the records beside its
 * images; one more removes an image with its record and lock, unless a
 * conversion of it holds the lock.
 */
import { ExecError, UsageError } from "../core/errors.js";
import { folderOn } from "../core/values.js";
import type { Executor } from "../exec/executor.js";
import type { ConnectionFlags } from "../exec/placement.js";
import { imageFolder } from "../image/conversion.js";
import {
  type ImageFile,
  listArgv,
  matchImages,
  nameInFolder,
  parseListing,
  parseRmTarget,
  type RmTarget,
  removeArgv,
} from "../image/folder.js";
import { loadProfile } from "../profile/load.js";
import type { Profile, UserConfig } from "../profile/schema.js";
import { chooseCluster } from "../request/build.js";
import { loadProjectFile, loadUserConfig, noteSearchPath } from "../request/sources.js";
import type { Context, Done } from "./context.js";
import { placementFor } from "./where.js";

/** Flags of `image ls` and `image rm`. */
export interface ImagesFlags extends ConnectionFlags {
  cluster?: string;
}

/** What `image ls` found: the cluster, its image folder, and the images in it. */
export interface ImageList {
  cluster: string;
  dir: string;
  images: ImageFile[];
}

/** What `image rm` removed (each with its record and lock), and what it was asked for. */
export interface ImagesRemoved {
  cluster: string;
  dir: string;
  /** What named them: a file name, the reference as recorded, or a digest. */
  what: string;
  removed: ImageFile[];
}

/** The cluster (--cluster, hpcjob.yaml, or the user's default) and its profile, as every image command chooses it. */
export async function imageProfile(cluster: string | undefined, ctx: Context): Promise<{ profile: Profile; user: UserConfig }> {
  const user = await loadUserConfig(ctx);
  const chosen = chooseCluster({ flags: { cluster }, user, project: await loadProjectFile(ctx, ctx.cwd) });
  noteSearchPath(ctx);
  const { profile } = await loadProfile(ctx, chosen);
  return { profile, user };
}

/** The images in `dir` on the cluster, read with one command; none when the folder does not exist. */
async function readFolder(exec: Executor, dir: string, ctx: Context): Promise<ImageFile[]> {
  const r = await exec.run(listArgv(dir));
  if (r.code !== 0) {
    const said = r.stderr.trim().split("\n").filter(Boolean);
    if (r.stdout === "") {
      if (!(await exec.stat(dir))) return [];
      throw new ExecError(`could not list the image folder ${dir} (find exit ${r.code}); check that you may read it`, said.slice(-8));
    }
    // Some entries could not be read (a record without read permission): the rest is listed.
    ctx.report({ kind: "note", text: `some of ${dir} could not be read: ${said[0] ?? `find exit ${r.code}`}` });
  }
  return parseListing(r.stdout, dir);
}

/** `hpcjob image ls`: the images in the chosen cluster's image folder, the newest conversion first. */
export async function imageLs(flags: ImagesFlags, ctx: Context): Promise<Done<ImageList>> {
  const { profile, user } = await imageProfile(flags.cluster, ctx);
  const folder = imageFolder(profile);
  const exec = await ctx.connect(await placementFor(flags, profile, user, ctx));
  const dir = folderOn(folder, folder.under === "home" ? await exec.home() : "/");
  return { data: { cluster: profile.name, dir, images: await readFolder(exec, dir, ctx) } };
}

/** What the user named, as messages say it. */
function named(target: RmTarget, what: string): string {
  if (target.by === "ref") return `image converted from ${target.ref}`;
  if (target.by === "digest") return `image of digest ${target.prefix}`;
  const short = /^[0-9a-f]{1,11}$/.test(what.trim()) ? " (a digest needs 12 of its hex digits or more)" : "";
  return `image ${what.trim()}${short}`;
}

/**
 * `hpcjob image rm WHAT`: remove the image (or every image of a reference or
 * digest) with its record and lock; nothing when a conversion of one of them
 * holds its lock (exit 1). A path outside the image folder, or a name that
 * matches nothing there, is refused with exit 2.
 */
export async function imageRm(what: string, flags: ImagesFlags, ctx: Context): Promise<Done<ImagesRemoved>> {
  const target = parseRmTarget(what);
  const { profile, user } = await imageProfile(flags.cluster, ctx);
  const folder = imageFolder(profile);
  // A path that is not in the folder is refused before connecting where the home folder does not matter.
  nameInFolder(target, folder);
  const exec = await ctx.connect(await placementFor(flags, profile, user, ctx));
  const needsHome = folder.under === "home" || (target.by === "path" && target.path.under === "home");
  const home = needsHome ? await exec.home() : "/";
  const dir = folderOn(folder, home);
  const name = nameInFolder(target, folder, home);
  const matched = matchImages(target, await readFolder(exec, dir, ctx), name);
  const ls = `hpcjob image ls --cluster ${profile.name}`;
  if (matched.length === 0) throw new UsageError(`there is no ${named(target, what)} in ${dir}; see what is there with: ${ls}`);
  const folderImage = matched.find((i) => i.folder);
  if (folderImage) {
    throw new UsageError(
      `${folderImage.path} is a folder (a Charliecloud image directory?); hpcjob image rm removes image files only: remove it yourself with rm -r`,
    );
  }
  const r = await exec.run(removeArgv(matched));
  if (r.code === 1 && r.stderr.trim() === "") {
    const names = matched.map((i) => i.name);
    throw new ExecError(
      `${names.length === 1 ? `${names[0]} is` : `one of ${names.join(", ")} is`} being converted right now (its lock is held); nothing was removed: run hpcjob image rm again once the conversion is done`,
    );
  }
  if (r.code !== 0) {
    throw new ExecError(
      `could not remove ${matched.map((i) => i.path).join(", ")} (exit ${r.code})`,
      r.stderr.trim().split("\n").slice(-8),
    );
  }
  const shown = target.by === "ref" ? target.ref : target.by === "digest" ? target.prefix : what.trim();
  return { data: { cluster: profile.name, dir, what: shown, removed: matched } };
}
