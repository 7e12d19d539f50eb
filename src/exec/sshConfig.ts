/**
 * Where `ssh HOST` would go: the destination the user typed, resolved
 * through ~/.ssh/config (HostName, User, Port, IdentityFile, IdentitiesOnly,
 * ProxyJump, HostKeyAlias) with the `ssh-config` package. Pure: the caller
 * reads the file and passes its text.
 *
 * As in ssh, the first value obtained for a setting wins, so a destination's
 * explicit user or port beats the file, and the file beats hpcjob's profile.
 *
 * Not followed (listed in SshTarget.ignored when they apply, so the caller
 * can say so): Include (ssh-config does not read other files), ProxyCommand
 * (hpcjob connects by itself; ProxyJump is supported),
 * CanonicalizeHostName (needs DNS) and `Match exec` (would run a command;
 * treated as not matching). `Match canonical`, `localnetwork` and `tagged`
 * never match. `Match host` compares with HostName as written (tokens not
 * expanded), `Match localuser` with the operating system's user, and after
 * `Match final` Host blocks are not matched again against the HostName.
 */
import SSHConfig from "ssh-config";
import { ProfileError, UsageError } from "../errors.js";
import { globMatch } from "./knownHosts.js";

/** A destination after ~/.ssh/config: everything needed to open the connection. */
export interface SshTarget {
  /** The host part of the destination as typed (the name looked up in ~/.ssh/config). */
  alias: string;
  /** The host to connect to: HostName, else the alias; lowercased, as ssh does. */
  host: string;
  port: number;
  /** Undefined when nobody said: the caller uses the local user, as ssh does. */
  user?: string;
  /** IdentityFile paths, expanded; empty when none given (the caller then tries the defaults). */
  identityFiles: string[];
  identitiesOnly: boolean;
  /** ProxyJump hops in order, each `[user@]host[:port]` (resolve each with resolveTarget). */
  proxyJump: string[];
  /** The name to look the host key up under in known_hosts instead of `host`. */
  hostKeyAlias?: string;
  /** Settings that apply to this host but hpcjob does not follow, e.g. `Include ~/.ssh/conf.d/*`. */
  ignored?: string[];
}

/** The key files ssh tries when ~/.ssh/config names none (those hpcjob can use). */
export const DEFAULT_IDENTITY_FILES: readonly string[] = ["~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa"];

/** `~` or `~/...` with the home folder put in; any other path unchanged. */
export function expandHome(path: string, home: string): string {
  if (path === "~") return home;
  if (path.startsWith("~/")) return `${home.replace(/\/+$/, "")}${path.slice(1)}`;
  return path;
}

// The characters ssh refuses in host and user names (ssh.c valid_hostname,
// valid_ruser): they could end up in a shell command hpcjob prints.
const UNSAFE = /[\s'`"$\\;&<>|(){}]/;

/** `[USER@]HOST[:PORT]` (also `[IPv6]:PORT`, a bare IPv6 address and `ssh://...`) as its parts. */
export function parseDestination(text: string, what = "destination"): { user?: string; host: string; port?: number } {
  const fail = (why: string): never => {
    throw new UsageError(`${what} "${text}" ${why}; use [USER@]HOST[:PORT], e.g. alice@vera2.c3se.chalmers.se or [::1]:2222`);
  };
  let rest = text.trim().replace(/^ssh:\/\/([^/]*)\/?$/i, "$1");
  let user: string | undefined;
  // ssh splits at the last @: a user name may itself contain one.
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (user === "" || user.startsWith("-") || UNSAFE.test(user)) fail("has no valid user name before the @");
  }
  let host = rest;
  let portText: string | undefined;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) fail("has a [ without a ]");
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== "") {
      if (!after.startsWith(":")) fail("has text after the ]");
      portText = after.slice(1);
    }
  } else if (rest.indexOf(":") === rest.lastIndexOf(":") && rest.includes(":")) {
    // One colon: host:port. More than one: a bare IPv6 address without a port.
    [host, portText] = rest.split(":") as [string, string];
  }
  if (host === "" || host.startsWith("-") || UNSAFE.test(host) || host.includes("/")) fail("has no valid host name");
  const result: { user?: string; host: string; port?: number } = { host };
  if (user !== undefined) result.user = user;
  if (portText !== undefined) {
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) fail(`has no valid port (1-65535) after the :`);
    result.port = port;
  }
  return result;
}

/** The first value of a computed setting (ssh-config gives lists for multi-word ones). */
function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A computed setting as one string, words joined as they were written. */
function joined(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(" ") : value;
}

/** True when a Host line's patterns select `name` as ssh's do: any pattern matches, no `!pattern` does. */
function hostMatches(patterns: readonly string[], name: string): boolean {
  if (patterns.some((p) => p.startsWith("!") && globMatch(name, p.slice(1)))) return false;
  return patterns.some((p) => !p.startsWith("!") && globMatch(name, p));
}

// Match criteria ssh-config cannot evaluate (they then never match).
const UNSUPPORTED_MATCH = new Set(["exec", "canonical", "localnetwork", "tagged"]);

/** Settings ssh-config computes for `host` from config text, keys lowercased; throws a ProfileError on a broken file. */
function computeConfig(text: string, host: string, user: string | undefined, ignored: string[]): Record<string, string | string[]> {
  const broken = (why: string): never => {
    throw new ProfileError(`~/.ssh/config cannot be read: ${why}; fix it (ssh -G ${host} shows how ssh reads it)`);
  };
  let config: SSHConfig;
  try {
    config = SSHConfig.parse(text);
  } catch (e) {
    return broken((e as Error).message);
  }
  for (const line of config) {
    if (line.type !== SSHConfig.DIRECTIVE) continue;
    const lines = "config" in line ? [line, ...line.config] : [line];
    for (const d of lines) {
      if (d.type !== SSHConfig.DIRECTIVE) continue;
      // ssh-config reads a directive without a value as one whose name runs into the next line.
      if (/[\r\n]/.test(d.param)) broken(`${d.param.split(/[\r\n]/)[0]} has no value`);
    }
    if (/^host$/i.test(line.param)) {
      // ssh-config's own matching lets `?` match nothing too (Host node?
      // would match node), so hpcjob decides and leaves it `*` or `!*`.
      const patterns = typeof line.value === "string" ? [line.value] : line.value.map((v) => v.val);
      line.value = hostMatches(patterns, host) ? "*" : "!*";
    } else if ("criteria" in line) {
      const criteria = Object.keys((line as { criteria: Record<string, unknown> }).criteria).map((k) => k.toLowerCase());
      for (const c of criteria) if (UNSUPPORTED_MATCH.has(c)) ignored.push(`Match ${c} (treated as not matching)`);
    }
  }
  // With CanonicalizeHostName and several CanonicalDomains, ssh-config runs
  // nslookup; this module must not run anything, so the domains go.
  for (const list of [config, ...config.map((line) => ("config" in line ? line.config : []))]) {
    for (let i = list.length - 1; i >= 0; i--) {
      const d = list[i];
      if (d?.type === SSHConfig.DIRECTIVE && /^canonicaldomains$/i.test(d.param)) list.splice(i, 1);
    }
  }
  return config.compute({ Host: host, User: user }, { ignoreCase: true, matchExec: false });
}

/** `%d %u %h %r %p %n %%` in a path replaced; unknown tokens stay as written. */
function expandTokens(path: string, tokens: Record<string, string>, unknown: (token: string) => void): string {
  return path.replace(/%(.)/g, (all, c: string) => {
    const value = tokens[c];
    if (value === undefined) unknown(all);
    return value ?? all;
  });
}

/** Where `ssh DESTINATION` goes: the destination's user/port beat ~/.ssh/config, which beats the defaults. */
export function resolveTarget(
  destination: string,
  opts: { configText?: string; home: string; localUser: string; defaultUser?: string; defaultPort?: number },
): SshTarget {
  const dest = parseDestination(destination);
  const alias = dest.host;
  const ignored: string[] = [];
  // As ssh (checked against ssh -G): Host patterns match the name as typed,
  // case-sensitively; the host it ends up connecting to is lowercased.
  const c = opts.configText === undefined ? {} : computeConfig(opts.configText, alias, dest.user, ignored);

  const hostName = first(c.hostname);
  const host = (hostName === undefined ? alias : hostName.replace(/%([h%])/g, (_, t: string) => (t === "h" ? alias : "%"))).toLowerCase();
  const user = dest.user ?? first(c.user) ?? opts.defaultUser;

  let port = dest.port;
  const configPort = first(c.port);
  if (port === undefined && configPort !== undefined) {
    port = Number(configPort);
    if (!/^\d+$/.test(configPort) || port < 1 || port > 65535) {
      throw new ProfileError(`~/.ssh/config sets Port ${configPort} for ${alias}; a port is a number from 1 to 65535`);
    }
  }
  port ??= opts.defaultPort ?? 22;

  const tokens: Record<string, string> = {
    "%": "%",
    d: opts.home,
    u: opts.localUser,
    h: host,
    r: user ?? opts.localUser,
    p: String(port),
    n: alias,
  };
  const identityFiles: string[] = [];
  for (const raw of [c.identityfile ?? []].flat()) {
    const path = expandTokens(expandHome(raw, opts.home), tokens, (t) => ignored.push(`${t} in IdentityFile ${raw} (not expanded)`));
    // ssh ignores a file listed twice.
    if (!identityFiles.includes(path)) identityFiles.push(path);
  }

  const jump = first(c.proxyjump);
  const proxyJump =
    jump === undefined || jump.toLowerCase() === "none"
      ? []
      : jump
          .split(",")
          .map((hop) => hop.trim())
          .filter((hop) => hop !== "");

  const include = joined(c.include);
  if (include !== undefined) ignored.unshift(`Include ${include}`);
  const proxyCommand = joined(c.proxycommand);
  if (proxyCommand !== undefined && proxyCommand.toLowerCase() !== "none") ignored.push(`ProxyCommand ${proxyCommand}`);
  const canonicalize = first(c.canonicalizehostname);
  if (canonicalize !== undefined && canonicalize.toLowerCase() !== "no") ignored.push(`CanonicalizeHostName ${canonicalize}`);

  const target: SshTarget = {
    alias,
    host,
    port,
    identityFiles,
    identitiesOnly: /^(yes|true)$/i.test(first(c.identitiesonly) ?? ""),
    proxyJump,
  };
  if (user !== undefined) target.user = user;
  const hostKeyAlias = first(c.hostkeyalias);
  if (hostKeyAlias !== undefined) target.hostKeyAlias = hostKeyAlias;
  if (ignored.length > 0) target.ignored = [...new Set(ignored)];
  return target;
}
