/**
 * What a destination resolves to (an SshTarget), whether ssh said it (ssh -G)
 * or hpcjob read ~/.ssh/config itself, and the reading both share: the local
 * account ssh sees, StrictHostKeyChecking's words, `%` tokens and paths.
 */
import { hostname, userInfo } from "node:os";
import { ExecError } from "../../core/errors.js";
import { expandEnv, expandHome, expandTokens } from "./destination.js";

/** ssh's StrictHostKeyChecking, with its synonyms (true, off ...) folded. */
export type StrictHostKeyChecking = "yes" | "ask" | "accept-new" | "no";

/** A destination after ~/.ssh/config: everything needed to open and check the connection. */
export interface SshTarget {
  /** The host part of the destination as typed (the name looked up in ~/.ssh/config). */
  alias: string;
  /** The host to connect to: HostName, else the alias; lowercased, as ssh does. */
  host: string;
  port: number;
  /** The remote user name: the destination's, the config's, the profile's, else the local account's. */
  user: string;
  /** Key files to try, in order, paths expanded (ssh's defaults when none is configured); missing ones are skipped. */
  identityFiles: string[];
  identitiesOnly: boolean;
  /** ProxyJump hops in order, each `[user@]host[:port]` (each resolved like a destination). */
  proxyJump: string[];
  /** ProxyCommand with its tokens expanded, run with /bin/sh; its stdin/stdout carry the connection. */
  proxyCommand?: string;
  /** The name to look the host key up under in known_hosts instead of `host`. */
  hostKeyAlias?: string;
  /** UserKnownHostsFile paths: all are read, new keys go to the first. */
  userKnownHostsFiles: string[];
  /** GlobalKnownHostsFile paths: read, never written. */
  globalKnownHostsFiles: string[];
  strictHostKeyChecking: StrictHostKeyChecking;
  /** HostKeyAlgorithms in ssh's order; undefined when not known (then OpenSSH's defaults). */
  hostKeyAlgorithms?: string[];
  /** Write new known_hosts entries hashed (HashKnownHosts). */
  hashKnownHosts: boolean;
  /** Settings that apply to this host but hpcjob does not follow, e.g. `Include ~/.ssh/conf.d/*`. */
  ignored?: string[];
}

/** Who runs hpcjob on this computer, as ssh sees it: the account (passwd), not $USER or $HOME. */
export interface LocalAccount {
  name: string;
  home: string;
  uid: number;
  /** This computer's host name (ssh's %l). */
  hostname: string;
}

/** The local account from the passwd database; $USER/$HOME only where there is no entry (some containers). */
export function localAccount(env: Record<string, string | undefined>): LocalAccount {
  const uid = process.getuid?.() ?? -1;
  try {
    const u = userInfo();
    return { name: u.username, home: u.homedir, uid, hostname: hostname() };
  } catch {
    const name = env.USER ?? env.LOGNAME;
    if (!name) {
      throw new ExecError(`this computer's account (uid ${uid}) has no name: there is no passwd entry and USER is unset; set USER`);
    }
    return { name, home: env.HOME ?? "/", uid, hostname: hostname() };
  }
}

/** StrictHostKeyChecking's words, as written in a config or printed by ssh -G, to what they mean. */
export const STRICT_WORDS: Readonly<Record<string, StrictHostKeyChecking>> = {
  yes: "yes",
  true: "yes",
  ask: "ask",
  "accept-new": "accept-new",
  no: "no",
  false: "no",
  off: "no",
};

/** The `%` tokens ssh expands in IdentityFile (and, a subset, in ProxyCommand) for a connection. */
export function sshTokens(
  account: LocalAccount,
  c: { host: string; port: number; user: string; alias: string; hostKeyAlias?: string },
): Record<string, string> {
  return {
    d: account.home,
    u: account.name,
    i: String(account.uid),
    l: account.hostname,
    L: account.hostname.split(".")[0] ?? account.hostname,
    h: c.host,
    p: String(c.port),
    r: c.user,
    n: c.alias,
    k: c.hostKeyAlias ?? c.alias,
  };
}

/** The ProxyCommand tokens (ssh(1): %%, %h, %n, %p, %r). */
export function proxyTokens(tokens: Record<string, string>): Record<string, string> {
  const { h, n, p, r } = tokens;
  return { h, n, p, r } as Record<string, string>;
}

/** A path from the config (IdentityFile, UserKnownHostsFile) as ssh opens it: `${VAR}`, `~` and `%` tokens expanded; what could not be goes to `ignored`. */
export function configPath(
  raw: string,
  keyword: string,
  home: string,
  tokens: Record<string, string>,
  env: Record<string, string | undefined>,
  ignored: string[],
): string {
  const withEnv = expandEnv(raw, env, (v) => ignored.push(`${v} in ${keyword} ${raw} (not set)`));
  return expandTokens(expandHome(withEnv, home), tokens, (t) => ignored.push(`${t} in ${keyword} ${raw} (not expanded)`));
}
