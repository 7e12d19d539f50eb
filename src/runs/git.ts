/**
 * The code a job runs, as git knows it: the commit, branch, remote and
 * changes of the folder the job runs in, read on the cluster (where that
 * folder is) through the Executor. A dirty tree's `git diff HEAD` goes to a
 * file beside request.json, written there by git itself, so no byte of it
 * passes through a string on the way.
 */
import type { Executor } from "../exec/executor.js";
import { RUN_FILES, runFile } from "./store.js";

/** What request.json says about the workdir's repository. */
export interface GitState {
  commit: string;
  /** The checked-out branch; absent on a detached HEAD. */
  branch?: string;
  /** The URL of the branch's remote (else origin's, else the first), without credentials. */
  remote?: string;
  dirty: boolean;
  /** Files git does not track (and does not ignore): in no diff, so listed by name. */
  untracked?: string[];
  /** The run directory's file holding `git diff --binary HEAD` of a dirty tree. */
  diff?: string;
}

/** Schemes whose user part is a login (user:password or a token), dropped whole; elsewhere (ssh://user@) only a password is. */
const SECRET_USER = /^(https?|ftps?):$/i;

/**
 * A remote URL fit to record: `https://user:token@host/x` → `https://host/x`,
 * `ssh://git:pw@host/x` → `ssh://git@host/x`; scp-like `git@host:x` and
 * paths are kept as they are.
 */
export function withoutCredentials(url: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:)\/\/([^/?#]*)(.*)$/s.exec(url);
  if (!m) return url;
  const [, scheme = "", authority = "", rest = ""] = m;
  const at = authority.lastIndexOf("@");
  if (at < 0) return url;
  const userInfo = authority.slice(0, at);
  const host = authority.slice(at + 1);
  if (SECRET_USER.test(scheme)) return `${scheme}//${host}${rest}`;
  const user = userInfo.split(":")[0] ?? "";
  return `${scheme}//${user ? `${user}@` : ""}${host}${rest}`;
}

/** The URL of the remote the branch pulls from, else origin's, else the first, from `git config --get-regexp` lines. */
export function remoteOf(configLines: string, branch: string | undefined): string | undefined {
  const urls = new Map<string, string>();
  let branchRemote: string | undefined;
  for (const line of configLines.split("\n")) {
    const space = line.indexOf(" ");
    if (space < 0) continue;
    const [key, value] = [line.slice(0, space), line.slice(space + 1)];
    const url = /^remote\.(.+)\.url$/.exec(key);
    if (url?.[1]) urls.set(url[1], value);
    if (branch !== undefined && key === `branch.${branch}.remote`) branchRemote = value;
  }
  const url = (branchRemote && urls.get(branchRemote)) ?? urls.get("origin") ?? [...urls.values()][0];
  return url === undefined ? undefined : withoutCredentials(url);
}

/**
 * The workdir's git state on the cluster, with the diff of a dirty tree
 * written to git.diff in `runDir` (mode 0600) and its untracked files
 * listed; without `runDir` only whether it is dirty. Undefined when the
 * workdir is no repository or the cluster has no git.
 */
export async function gitState(exec: Executor, workdir: string, runDir?: string): Promise<GitState | undefined> {
  const git = (...args: string[]) => exec.run(["git", "-C", workdir, ...args]);
  try {
    const head = await git("rev-parse", "--verify", "-q", "HEAD");
    if (head.code !== 0) return undefined;
    const [status, branch, config] = await Promise.all([
      git("status", "--porcelain"),
      git("symbolic-ref", "-q", "--short", "HEAD"),
      git("config", "--get-regexp", "^remote\\..*\\.url$|^branch\\..*\\.remote$"),
    ]);
    const name = branch.code === 0 && branch.stdout.trim() !== "" ? branch.stdout.trim() : undefined;
    const remote = remoteOf(config.stdout, name);
    const state: GitState = { commit: head.stdout.trim(), ...(name ? { branch: name } : {}), ...(remote ? { remote } : {}), dirty: false };
    if (status.stdout.trim() === "") return state;
    if (runDir === undefined) return { ...state, dirty: true };
    const diffFile = runFile(runDir, "diff");
    const untracked = await git("ls-files", "--others", "--exclude-standard", "-z");
    // The file is made 0600 first; git's --output then writes into it (truncating, keeping the mode).
    await exec.writeFile(diffFile, "", 0o600);
    const diff = await git("diff", "--binary", "--no-color", "--no-ext-diff", `--output=${diffFile}`, "HEAD");
    return {
      ...state,
      dirty: true,
      untracked: untracked.stdout.split("\0").filter((f) => f !== ""),
      ...(diff.code === 0 ? { diff: RUN_FILES.diff } : {}),
    };
  } catch {
    return undefined; // no git on the cluster: the record simply has no commit
  }
}
