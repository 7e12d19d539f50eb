/**
 * Asking OpenSSH where a destination goes: the configuration `ssh -G` reads,
 * its arguments, and its answer as an SshTarget. Pure; target.ts runs ssh.
 *
 * ssh -G prints every setting as a lowercase `keyword value` line, after
 * Include, Match, Host patterns and HostName tokens; IdentityFile and
 * ProxyCommand keep their `%` tokens and `~`, which are expanded here as ssh
 * expands them when it connects.
 */

import { type Destination, expandTokens, jumpHops } from "./destination.js";
import { configPath, type LocalAccount, proxyTokens, type SshTarget, STRICT_WORDS, sshTokens } from "./settings.js";

/** One word of ssh_config: double-quoted when it has a blank (a home folder with a space). */
function configWord(text: string): string {
  return /[\s#]/.test(text) ? `"${text}"` : text;
}

/**
 * The configuration given to `ssh -F FILE -G`: the user's file, then
 * the profile's login defaults, then the system's file. ssh takes the first
 * value it obtains for each setting, so the user's config beats the profile,
 * which beats the system config and ssh's built-in defaults. (`-p`/`-l` would
 * beat the user's config.) Port 22 is ssh's own default and is left to it.
 */
export function sshGConfig(userConfig: string, defaults: { user?: string; port?: number }, systemConfig = "/etc/ssh/ssh_config"): string {
  // An Include of a missing file is fine to ssh, as a missing ~/.ssh/config is.
  const lines = [`Include ${configWord(userConfig)}`, "Host *"];
  if (defaults.port !== undefined && defaults.port !== 22) lines.push(`  Port ${defaults.port}`);
  if (defaults.user !== undefined) lines.push(`  User ${configWord(defaults.user)}`);
  lines.push(`Include ${configWord(systemConfig)}`);
  return `${lines.join("\n")}\n`;
}

/**
 * ssh's arguments to print a destination's settings. A user or port written
 * in the destination beats every config, as `-l`/`-p` do; `--` keeps the host
 * from ever being read as an option. (ssh://[::1]:22 is refused by ssh 9.2.)
 */
export function sshGArgs(configFile: string, dest: Destination): string[] {
  const args = ["-F", configFile, "-G", "-T"];
  if (dest.user !== undefined) args.push("-l", dest.user);
  if (dest.port !== undefined) args.push("-p", String(dest.port));
  return [...args, "--", dest.host];
}

/** ssh -G's output as keyword → its values in order (IdentityFile and SendEnv come once per line). */
export function parseSshG(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const space = line.indexOf(" ");
    if (space <= 0) continue;
    const key = line.slice(0, space).toLowerCase();
    settings.set(key, [...(settings.get(key) ?? []), line.slice(space + 1)]);
  }
  return settings;
}

/** The destination `alias` as ssh -G resolved it (`settings` from parseSshG). */
export function targetFromSshG(
  alias: string,
  settings: Map<string, string[]>,
  opts: { account: LocalAccount; env: Record<string, string | undefined> },
): SshTarget {
  const one = (key: string) => settings.get(key)?.[0];
  const ignored: string[] = [];
  const host = (one("hostname") ?? alias).toLowerCase();
  const port = Number(one("port") ?? 22);
  const user = one("user") ?? opts.account.name;
  const hostKeyAlias = one("hostkeyalias");
  const tokens = sshTokens(opts.account, { host, port, user, alias, hostKeyAlias });

  const identityFiles: string[] = [];
  for (const raw of settings.get("identityfile") ?? []) {
    const path = configPath(raw, "IdentityFile", opts.account.home, tokens, opts.env, ignored);
    // ssh ignores a file listed twice.
    if (!identityFiles.includes(path)) identityFiles.push(path);
  }
  const files = (key: string) => (one(key) ?? "").split(" ").filter((f) => f !== "" && f !== "none");
  const command = one("proxycommand");

  const target: SshTarget = {
    alias,
    host,
    port,
    user,
    identityFiles,
    identitiesOnly: one("identitiesonly") === "yes",
    proxyJump: jumpHops(one("proxyjump")),
    userKnownHostsFiles: files("userknownhostsfile"),
    globalKnownHostsFiles: files("globalknownhostsfile"),
    strictHostKeyChecking: STRICT_WORDS[one("stricthostkeychecking") ?? "ask"] ?? "ask",
    hashKnownHosts: one("hashknownhosts") === "yes",
  };
  if (command !== undefined && command !== "none") {
    target.proxyCommand = expandTokens(command, proxyTokens(tokens), (t) => ignored.push(`${t} in ProxyCommand ${command} (not expanded)`));
  }
  if (one("proxyusefdpass") === "yes") ignored.push("ProxyUseFdpass yes (the ProxyCommand's stdin/stdout are used)");
  if (hostKeyAlias !== undefined) target.hostKeyAlias = hostKeyAlias;
  const algorithms = one("hostkeyalgorithms");
  if (algorithms !== undefined) target.hostKeyAlgorithms = algorithms.split(",").filter(Boolean);
  if (ignored.length > 0) target.ignored = [...new Set(ignored)];
  return target;
}
