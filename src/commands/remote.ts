/**
 * `hpcjob remote install`: put the single executable on a cluster's login
 * node, verified by its sha256, so hpcjob also runs there without Node.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { posix } from "node:path";
import { ExecError, UsageError } from "../core/errors.js";
import type { ConnectionFlags } from "../exec/placement.js";
import { clusterProfile } from "../request/sources.js";
import type { Context, Done } from "./context.js";
import { placementFor } from "./where.js";

/** Flags of `hpcjob remote install`. */
export interface RemoteInstallFlags extends ConnectionFlags {
  cluster?: string;
  path: string;
  binary?: string;
}

/** The executable to copy: --binary, or this process when it is the single executable. */
function sourceBinary(flags: RemoteInstallFlags): string {
  if (flags.binary) return flags.binary;
  try {
    const sea = createRequire(import.meta.url)("node:sea") as { isSea(): boolean };
    if (sea.isSea()) return process.execPath;
  } catch {
    // node:sea is missing before Node 20.12: not a single executable either
  }
  throw new UsageError(
    "this hpcjob runs under node, not as the single executable; pass --binary dist/hpcjob-linux-x64 (npm run build:binary makes it)",
  );
}

/** sha256 of a file on the cluster, or undefined when it is missing. */
async function remoteSha256(run: (argv: string[]) => Promise<{ code: number; stdout: string }>, path: string): Promise<string | undefined> {
  const r = await run(["sha256sum", path]);
  return r.code === 0 ? r.stdout.trim().split(/\s+/)[0] : undefined;
}

/** What `remote install` did: installed (and whether its folder is on PATH there), or found the same file (made executable if it was not). */
export interface Installed {
  path: string;
  sha256: string;
  installed: boolean;
  modeFixed?: true;
  onPath?: boolean;
}

/** Copy the executable to the login node (mode 0755), verify it there, skip an identical copy. */
export async function remoteInstall(flags: RemoteInstallFlags, ctx: Context): Promise<Done<Installed>> {
  const file = sourceBinary(flags);
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}; pass --binary with the executable's path`);
  }
  const sha = createHash("sha256").update(data).digest("hex");
  const { profile, user } = await clusterProfile(ctx, flags.cluster);
  const exec = await ctx.connect(await placementFor(flags, profile, user, ctx));
  if (!exec.remote)
    throw new UsageError("remote install copies hpcjob from your computer to a login node; pass --cluster NAME or --remote HOST");
  const home = await exec.home();
  const target = flags.path.startsWith("~/") ? posix.join(home, flags.path.slice(2)) : flags.path;
  if (!target.startsWith("/")) throw new UsageError(`--path "${flags.path}" must be absolute or start with ~/`);
  const run = (argv: string[]) => exec.run(argv);

  const same: Installed = { path: target, sha256: sha, installed: false };
  if ((await remoteSha256(run, target)) === sha) {
    const mode = (await exec.stat(target))?.mode ?? 0;
    if ((mode & 0o755) === 0o755) return { data: same };
    // The same bytes without the execute bits (copied by hand, or a umask): make it runnable, copy nothing.
    const chmod = await run(["chmod", "0755", target]);
    if (chmod.code !== 0) throw new ExecError(`${target} is this hpcjob but not executable, and chmod failed`, [chmod.stderr.trim()]);
    return { data: { ...same, modeFixed: true } };
  }
  // Only the folders it creates get 0755: an existing ~/.local/bin or home keeps its mode.
  await exec.mkdir(posix.dirname(target), 0o755);
  // Upload beside the target, check it, then rename: a half-copied file never sits at the target.
  const partial = `${target}.partial`;
  await exec.writeFile(partial, data, 0o755);
  const got = await remoteSha256(run, partial);
  if (got !== sha) {
    await run(["rm", "-f", partial]);
    throw new ExecError(`the copy on the cluster does not match (sha256 ${got ?? "unreadable"}, expected ${sha}); nothing was installed`);
  }
  const mv = await run(["mv", "-f", partial, target]);
  if (mv.code !== 0) throw new ExecError(`could not move ${partial} to ${target}`, [mv.stderr.trim()]);
  const path = (await run(["printenv", "PATH"])).stdout.trim().split(":");
  return { data: { path: target, sha256: sha, installed: true, onPath: path.includes(posix.dirname(target)) } };
}
