/**
 * The destination as the user typed it (`[USER@]HOST[:PORT]`, a ~/.ssh/config
 * alias, a ProxyJump hop) and the expansions ssh applies to paths and
 * commands from its config: `~` and the `%` tokens. Pure.
 */
import { UsageError } from "../../core/errors.js";

/** A destination split into its parts; user and port only when written. */
export interface Destination {
  user?: string;
  host: string;
  port?: number;
}

// The characters ssh refuses in host and user names (ssh.c valid_hostname,
// valid_ruser): they could end up in a shell command hpcjob prints.
const UNSAFE = /[\s'`"$\\;&<>|(){}]/;

/** True when ssh would accept `name` as a user name (and hpcjob may print it in a command). */
export function validUser(name: string): boolean {
  const control = [...name].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  return name !== "" && !name.startsWith("-") && !UNSAFE.test(name) && !control;
}

/** `[USER@]HOST[:PORT]` (also `[IPv6]:PORT`, a bare IPv6 address and `ssh://...`) as its parts. */
export function parseDestination(text: string, what = "destination"): Destination {
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
    if (!validUser(user)) fail("has no valid user name before the @");
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
  const result: Destination = { host };
  if (user !== undefined) result.user = user;
  if (portText !== undefined) {
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) fail(`has no valid port (1-65535) after the :`);
    result.port = port;
  }
  return result;
}

/** A ProxyJump value as its hops, `[user@]host[:port]` each; none for `none` or nothing. */
export function jumpHops(value: string | undefined): string[] {
  if (value === undefined || value.toLowerCase() === "none") return [];
  return value
    .split(",")
    .map((hop) => hop.trim())
    .filter((hop) => hop !== "");
}

/** `~` or `~/...` with the home folder put in; any other path unchanged. */
export function expandHome(path: string, home: string): string {
  if (path === "~") return home;
  if (path.startsWith("~/")) return `${home.replace(/\/+$/, "")}${path.slice(1)}`;
  return path;
}

/**
 * ssh's `%` tokens in `text` replaced from `tokens` (`%%` is always `%`);
 * each token it does not know is left as written and passed to `unknown`.
 */
export function expandTokens(text: string, tokens: Readonly<Record<string, string>>, unknown: (token: string) => void): string {
  return text.replace(/%(.)/g, (all, c: string) => {
    if (c === "%") return "%";
    const value = tokens[c];
    if (value === undefined) unknown(all);
    return value ?? all;
  });
}

/**
 * `${NAME}` replaced from the environment, as ssh does in IdentityFile and
 * UserKnownHostsFile; an unset variable is left as written and passed to `unset`.
 */
export function expandEnv(text: string, env: Readonly<Record<string, string | undefined>>, unset: (name: string) => void): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (all, name: string) => {
    const value = env[name];
    if (value === undefined) unset(all);
    return value ?? all;
  });
}
