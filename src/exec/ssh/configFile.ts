/**
 * hpcjob's own reading of ~/.ssh/config, for computers without OpenSSH's
 * `ssh` (where it is installed, target.ts asks `ssh -G` instead): HostName,
 * User, Port, IdentityFile, IdentitiesOnly, ProxyJump, HostKeyAlias,
 * UserKnownHostsFile, GlobalKnownHostsFile, StrictHostKeyChecking and
 * HashKnownHosts, with the `ssh-config` package. Pure: the caller reads the
 * file and passes its text.
 *
 * As in ssh, the first value obtained for a setting wins, so a destination's
 * explicit user or port beats the file, and the file beats hpcjob's profile.
 *
 * Not followed (listed in SshTarget.ignored when they apply, so the caller
 * can say so): Include (ssh-config does not read other files), ProxyCommand,
 * HostKeyAlgorithms, CanonicalizeHostName (needs DNS) and `Match exec` (would
 * run a command; treated as not matching). `Match canonical`, `localnetwork`
 * and `tagged` never match. `Match host` compares with HostName as written
 * (tokens not expanded), `Match localuser` with the operating system's user,
 * and after `Match final` Host blocks are not matched again against the
 * HostName. /etc/ssh/ssh_config is not read.
 */
import SSHConfig from "ssh-config";
import { ProfileError } from "../../core/errors.js";
import { jumpHops, parseDestination } from "./destination.js";
import { globMatch } from "./knownHosts.js";
import { configPath, type LocalAccount, type SshTarget, STRICT_WORDS, sshTokens } from "./settings.js";

/** The key files ssh tries when ~/.ssh/config names none, in its order (those hpcjob can use). */
export const DEFAULT_IDENTITY_FILES: readonly string[] = ["~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ed25519"];

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

/** Where `ssh DESTINATION` goes after the config text: the destination's user/port beat it, and it beats the defaults. */
export function targetFromConfigText(
  destination: string,
  opts: {
    configText?: string;
    home: string;
    account: LocalAccount;
    env?: Record<string, string | undefined>;
    defaultUser?: string;
    defaultPort?: number;
  },
): SshTarget {
  const dest = parseDestination(destination);
  const alias = dest.host;
  const env = opts.env ?? {};
  const ignored: string[] = [];
  // As ssh (checked against ssh -G): Host patterns match the name as typed,
  // case-sensitively; the host it ends up connecting to is lowercased.
  const c = opts.configText === undefined ? {} : computeConfig(opts.configText, alias, dest.user, ignored);

  const hostName = first(c.hostname);
  const host = (hostName === undefined ? alias : hostName.replace(/%([h%])/g, (_, t: string) => (t === "h" ? alias : "%"))).toLowerCase();
  const user = dest.user ?? first(c.user) ?? opts.defaultUser ?? opts.account.name;

  let port = dest.port;
  const configPort = first(c.port);
  if (port === undefined && configPort !== undefined) {
    port = Number(configPort);
    if (!/^\d+$/.test(configPort) || port < 1 || port > 65535) {
      throw new ProfileError(`~/.ssh/config sets Port ${configPort} for ${alias}; a port is a number from 1 to 65535`);
    }
  }
  port ??= opts.defaultPort ?? 22;

  const hostKeyAlias = first(c.hostkeyalias);
  // %d and ~ are $HOME here: without ssh, hpcjob reads the config from there too.
  const tokens = sshTokens({ ...opts.account, home: opts.home }, { host, port, user, alias, hostKeyAlias });
  const paths = (keyword: string, values: string[]) => {
    const out: string[] = [];
    for (const raw of values) {
      const path = configPath(raw, keyword, opts.home, tokens, env, ignored);
      // ssh ignores a file listed twice.
      if (path !== "none" && !out.includes(path)) out.push(path);
    }
    return out;
  };
  const identityFiles = paths("IdentityFile", [c.identityfile ?? DEFAULT_IDENTITY_FILES].flat());

  const include = joined(c.include);
  if (include !== undefined) ignored.unshift(`Include ${include}`);
  const proxyCommand = joined(c.proxycommand);
  if (proxyCommand !== undefined && proxyCommand.toLowerCase() !== "none") ignored.push(`ProxyCommand ${proxyCommand}`);
  const algorithms = joined(c.hostkeyalgorithms);
  if (algorithms !== undefined) ignored.push(`HostKeyAlgorithms ${algorithms}`);
  const canonicalize = first(c.canonicalizehostname);
  if (canonicalize !== undefined && canonicalize.toLowerCase() !== "no") ignored.push(`CanonicalizeHostName ${canonicalize}`);

  const strictText = (first(c.stricthostkeychecking) ?? "ask").toLowerCase();
  const strict = STRICT_WORDS[strictText];
  if (strict === undefined) {
    throw new ProfileError(`~/.ssh/config sets StrictHostKeyChecking ${strictText} for ${alias}; use yes, ask, accept-new or no`);
  }
  const target: SshTarget = {
    alias,
    host,
    port,
    user,
    identityFiles,
    identitiesOnly: /^(yes|true)$/i.test(first(c.identitiesonly) ?? ""),
    proxyJump: jumpHops(first(c.proxyjump)),
    userKnownHostsFiles: paths("UserKnownHostsFile", [c.userknownhostsfile ?? ["~/.ssh/known_hosts", "~/.ssh/known_hosts2"]].flat()),
    globalKnownHostsFiles: paths(
      "GlobalKnownHostsFile",
      [c.globalknownhostsfile ?? ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"]].flat(),
    ),
    strictHostKeyChecking: strict,
    hashKnownHosts: /^(yes|true)$/i.test(first(c.hashknownhosts) ?? ""),
  };
  if (hostKeyAlias !== undefined) target.hostKeyAlias = hostKeyAlias;
  if (ignored.length > 0) target.ignored = [...new Set(ignored)];
  return target;
}
