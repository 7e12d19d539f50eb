/**
 * hpcjob's own reading of ~/.ssh/config (used where ssh is not installed), by
 * hand-written cases and against what OpenSSH itself computes (`ssh -G`,
 * which connects nowhere).
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ProfileError, UsageError } from "../../src/core/errors.js";
import { DEFAULT_IDENTITY_FILES, targetFromConfigText } from "../../src/exec/ssh/configFile.js";
import { expandHome, parseDestination } from "../../src/exec/ssh/destination.js";
import type { LocalAccount, SshTarget } from "../../src/exec/ssh/settings.js";
import { tempDir } from "../helpers.js";

const HOME = "/home/me";
const ACCOUNT: LocalAccount = { name: "me", home: HOME, uid: 1000, hostname: "laptop.example.org" };
/** What every target has when the config says nothing about keys and host keys. */
const DEFAULTS = {
  identitiesOnly: false,
  userKnownHostsFiles: [`${HOME}/.ssh/known_hosts`, `${HOME}/.ssh/known_hosts2`],
  globalKnownHostsFiles: ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"],
  strictHostKeyChecking: "ask",
  hashKnownHosts: false,
} as const;

const CONFIG = `# a user's ~/.ssh/config
Host vera
  HostName vera2.c3se.chalmers.se
  User cid
  Port 2200
  IdentityFile ~/.ssh/id_vera
  IdentitiesOnly yes

Host alvis
  HostName alvis1.c3se.chalmers.se
  ProxyJump gw

Host deep
  HostName deep.internal
  ProxyJump alice@gw1:2201,gw2

Host nojump
  ProxyJump none

Host *.c3se.chalmers.se !bad.c3se.chalmers.se
  User wild
  IdentityFile %d/.ssh/%u-%r@%h:%p
  HostKeyAlias c3se-login

Host short-*
  HostName %h.c3se.chalmers.se

Host first
  User one

Host first second
  User two
  Port 2022

Host upper
  HOSTNAME upper.example.org
  identitiesonly Yes

Host LOUD
  User never

Host node? !node9
  User one-char

Host *
  IdentityFile ~/.ssh/id_common
  IdentityFile ~/.ssh/id_common
`;

/** targetFromConfigText with CONFIG (or another text) and a fixed home and local account. */
function resolve(destination: string, more: { configText?: string; defaultUser?: string; defaultPort?: number } = {}): SshTarget {
  return targetFromConfigText(destination, { configText: CONFIG, home: HOME, account: ACCOUNT, ...more });
}

describe("parseDestination", () => {
  it.each([
    ["vera", { host: "vera" }],
    ["alice@vera", { user: "alice", host: "vera" }],
    ["alice@vera2.c3se.chalmers.se:2222", { user: "alice", host: "vera2.c3se.chalmers.se", port: 2222 }],
    ["127.0.0.1:2222", { host: "127.0.0.1", port: 2222 }],
    ["[::1]:22", { host: "::1", port: 22 }],
    ["bob@[fe80::1]:2200", { user: "bob", host: "fe80::1", port: 2200 }],
    ["[::1]", { host: "::1" }],
    ["::1", { host: "::1" }],
    ["ssh://bob@gw:2201", { user: "bob", host: "gw", port: 2201 }],
    ["me@example.org@gw", { user: "me@example.org", host: "gw" }],
    ["  vera  ", { host: "vera" }],
  ])("%s", (text, expected) => {
    expect(parseDestination(text)).toEqual(expected);
  });

  it.each([
    "",
    "alice@",
    "@vera",
    "vera:",
    "vera:0",
    "vera:65536",
    "vera:ssh",
    "[::1",
    "[::1]2222",
    "-oProxyCommand=evil",
    "vera;reboot",
    "al ice@vera",
    "$(id)@vera",
  ])("refuses %j with one line that shows the form", (text) => {
    expect(() => parseDestination(text, "--remote")).toThrow(UsageError);
    expect(() => parseDestination(text, "--remote")).toThrow(/^--remote ".*" .*; use \[USER@\]HOST\[:PORT\], e\.g\. /);
  });
});

describe("targetFromConfigText", () => {
  it("takes HostName, User, Port, IdentityFile and IdentitiesOnly from the alias's block and adds Host *'s", () => {
    expect(resolve("vera")).toEqual({
      ...DEFAULTS,
      alias: "vera",
      host: "vera2.c3se.chalmers.se",
      port: 2200,
      user: "cid",
      identityFiles: [`${HOME}/.ssh/id_vera`, `${HOME}/.ssh/id_common`],
      identitiesOnly: true,
      proxyJump: [],
    });
  });

  it("lets an explicit user and port beat the config", () => {
    const t = resolve("bob@vera:2222");
    expect([t.user, t.host, t.port]).toEqual(["bob", "vera2.c3se.chalmers.se", 2222]);
  });

  it("lets the config beat the profile's defaults, and the defaults beat the local account", () => {
    expect(resolve("vera", { defaultUser: "prof", defaultPort: 2000 })).toMatchObject({ user: "cid", port: 2200 });
    expect(resolve("alvis", { defaultUser: "prof", defaultPort: 2000 })).toMatchObject({ user: "prof", port: 2000 });
    expect(resolve("alvis").user).toBe("me");
    expect(resolve("alvis").port).toBe(22);
  });

  it("splits ProxyJump into hops, one or two, and reads none as no hop", () => {
    expect(resolve("alvis").proxyJump).toEqual(["gw"]);
    expect(resolve("deep").proxyJump).toEqual(["alice@gw1:2201", "gw2"]);
    expect(resolve("nojump").proxyJump).toEqual([]);
    // Each hop resolves like any destination.
    expect(resolve(resolve("deep").proxyJump[0] as string)).toMatchObject({ user: "alice", host: "gw1", port: 2201 });
  });

  it("matches wildcard Host blocks, honours negation, and expands IdentityFile tokens", () => {
    expect(resolve("login1.c3se.chalmers.se")).toEqual({
      ...DEFAULTS,
      alias: "login1.c3se.chalmers.se",
      host: "login1.c3se.chalmers.se",
      port: 22,
      user: "wild",
      identityFiles: [`${HOME}/.ssh/me-wild@login1.c3se.chalmers.se:22`, `${HOME}/.ssh/id_common`],
      identitiesOnly: false,
      proxyJump: [],
      hostKeyAlias: "c3se-login",
    });
    expect(resolve("bob@x.c3se.chalmers.se:2022").identityFiles[0]).toBe(`${HOME}/.ssh/me-bob@x.c3se.chalmers.se:2022`);
    expect(resolve("bad.c3se.chalmers.se").user).toBe("me");
    expect(resolve("bad.c3se.chalmers.se").hostKeyAlias).toBeUndefined();
  });

  it("lets ? match exactly one character, as ssh does (ssh-config alone lets it match none)", () => {
    expect(resolve("node1").user).toBe("one-char");
    expect(resolve("node").user).toBe("me");
    expect(resolve("node12").user).toBe("me");
    expect(resolve("node9").user).toBe("me");
  });

  it("uses the first value of each setting across blocks", () => {
    expect(resolve("first")).toMatchObject({ user: "one", port: 2022 });
    expect(resolve("second")).toMatchObject({ user: "two", port: 2022 });
  });

  it("expands %h in HostName to the alias", () => {
    expect(resolve("short-a")).toMatchObject({ alias: "short-a", host: "short-a.c3se.chalmers.se" });
  });

  it("reads directive names case-insensitively, matches Host patterns case-sensitively and lowercases the host, as ssh does", () => {
    expect(resolve("upper")).toMatchObject({ host: "upper.example.org", identitiesOnly: true });
    expect(resolve("Upper")).toMatchObject({ host: "upper", identitiesOnly: false });
    expect(resolve("LOUD").user).toBe("never");
    expect(resolve("loud").user).toBe("me");
    expect(resolve("Some.Host").host).toBe("some.host");
    expect(resolve("Short-Mixed")).toMatchObject({ alias: "Short-Mixed", host: "short-mixed" });
    expect(resolve("short-Mixed")).toMatchObject({ alias: "short-Mixed", host: "short-mixed.c3se.chalmers.se" });
  });

  it("works with no config at all, trying ssh's default key files", () => {
    const target = targetFromConfigText("alice@Login.Example.org:2222", { home: HOME, account: ACCOUNT });
    expect(target).toEqual({
      ...DEFAULTS,
      alias: "Login.Example.org",
      host: "login.example.org",
      port: 2222,
      user: "alice",
      identityFiles: DEFAULT_IDENTITY_FILES.map((f) => expandHome(f, HOME)),
      proxyJump: [],
    });
    expect(targetFromConfigText("gw", { home: HOME, account: ACCOUNT, defaultUser: "prof", defaultPort: 2000 })).toMatchObject({
      user: "prof",
      port: 2000,
    });
    expect(targetFromConfigText("gw", { configText: "", home: HOME, account: ACCOUNT }).identityFiles).toEqual([
      `${HOME}/.ssh/id_rsa`,
      `${HOME}/.ssh/id_ecdsa`,
      `${HOME}/.ssh/id_ed25519`,
    ]);
  });

  it("reads UserKnownHostsFile (tokens expanded), GlobalKnownHostsFile, StrictHostKeyChecking and HashKnownHosts", () => {
    const config = `Host box
  HostName box.example.org
  UserKnownHostsFile ~/kh/%n "/keys/%h %p"
  GlobalKnownHostsFile /etc/kh
  StrictHostKeyChecking accept-new
  HashKnownHosts yes
Host off
  StrictHostKeyChecking off
Host bad
  StrictHostKeyChecking maybe
`;
    expect(resolve("box", { configText: config })).toMatchObject({
      userKnownHostsFiles: [`${HOME}/kh/box`, "/keys/box.example.org 22"],
      globalKnownHostsFiles: ["/etc/kh"],
      strictHostKeyChecking: "accept-new",
      hashKnownHosts: true,
    });
    expect(resolve("off", { configText: config }).strictHostKeyChecking).toBe("no");
    expect(() => resolve("bad", { configText: config })).toThrow(/StrictHostKeyChecking maybe for bad; use yes, ask, accept-new or no/);
  });

  it("expands %u %r %h %p %n %d %% and ~ in IdentityFile, keeps quoted spaces and drops repeats", () => {
    const config = `Host box
  HostName box.example.org
  User remote
  IdentityFile "~/my keys/%n"
  IdentityFile /keys/%u/%r/%h/%p/100%%
  IdentityFile %d/.ssh/id_box
  IdentityFile ~/.ssh/id_box
`;
    expect(resolve("box", { configText: config }).identityFiles).toEqual([
      `${HOME}/my keys/box`,
      "/keys/me/remote/box.example.org/22/100%",
      `${HOME}/.ssh/id_box`,
    ]);
  });

  it("keeps an IdentityFile token it cannot expand and says so", () => {
    const t = resolve("box", { configText: "Host box\n  IdentityFile ~/.ssh/%C\n" });
    expect(t.identityFiles).toEqual([`${HOME}/.ssh/%C`]);
    expect(t.ignored).toEqual(["%C in IdentityFile ~/.ssh/%C (not expanded)"]);
  });

  it("refuses a Port that is not a port", () => {
    expect(() => resolve("box", { configText: "Host box\n  Port ssh\n" })).toThrow(ProfileError);
    expect(() => resolve("box", { configText: "Host box\n  Port 99999\n" })).toThrow(/Port 99999 for box/);
  });

  it.each([
    ['Host box\n  User "unterminated\n', /cannot be read/],
    ["Match host\n  User x\n", /cannot be read: Missing value for match criteria host/],
    ["Host box\n  ForwardAgent\n  User bob\n", /cannot be read: ForwardAgent has no value/],
  ])("refuses a broken config with one line: %j", (config, message) => {
    expect(() => resolve("box", { configText: config })).toThrow(ProfileError);
    expect(() => resolve("box", { configText: config })).toThrow(message);
  });
});

describe("what ~/.ssh/config features hpcjob does not follow", () => {
  const path = process.env.PATH;
  afterEach(() => {
    process.env.PATH = path;
  });

  it("lists Include, ProxyCommand, Match exec and CanonicalizeHostName, and runs nothing", () => {
    const dir = tempDir("hpcjob-sshcfg-");
    const ran = join(dir, "ran");
    // ssh-config would run nslookup for CanonicalDomains and the Match exec
    // command; a fake nslookup first on PATH shows whether anything ran.
    const nslookup = join(dir, "nslookup");
    writeFileSync(nslookup, `#!/bin/sh\ntouch '${ran}'\n`);
    chmodSync(nslookup, 0o755);
    process.env.PATH = `${dir}:${path ?? ""}`;
    const config = `Include ~/.ssh/conf.d/*
Match exec "touch '${ran}'"
  User from-exec
Match originalhost box
  Port 2022
Host box
  HostName box
  ProxyCommand ssh -W %h:%p gw
  CanonicalizeHostName yes
  CanonicalDomains a.example.org b.example.org
  SomeFutureOption 1
`;
    const t = resolve("box", { configText: config });
    expect(existsSync(ran)).toBe(false);
    expect(t).toMatchObject({ host: "box", port: 2022, proxyJump: [] });
    expect(t.user).toBe("me");
    expect(t.ignored).toEqual([
      "Include ~/.ssh/conf.d/*",
      "Match exec (treated as not matching)",
      "ProxyCommand ssh -W %h:%p gw",
      "CanonicalizeHostName yes",
    ]);
    expect(resolve("box", { configText: "Host box\n  HostKeyAlgorithms +ssh-rsa\n" }).ignored).toEqual(["HostKeyAlgorithms +ssh-rsa"]);
  });

  it("leaves ignored out when everything is followed", () => {
    expect(resolve("vera").ignored).toBeUndefined();
  });
});

describe("helpers", () => {
  it("expandHome expands ~ and ~/ only", () => {
    expect(expandHome("~", HOME)).toBe(HOME);
    expect(expandHome("~/.ssh/id_rsa", HOME)).toBe(`${HOME}/.ssh/id_rsa`);
    expect(expandHome("~/.ssh/id_rsa", `${HOME}/`)).toBe(`${HOME}/.ssh/id_rsa`);
    expect(expandHome("/etc/ssh/key", HOME)).toBe("/etc/ssh/key");
    expect(expandHome("~other/key", HOME)).toBe("~other/key");
  });

  it("DEFAULT_IDENTITY_FILES are the ones of OpenSSH's default list that hpcjob can use, in ssh -G's order", () => {
    const ssh = spawnSync("ssh", ["-F", "/dev/null", "-G", "somehost"], { encoding: "utf8" });
    expect(ssh.status, ssh.stderr).toBe(0);
    const listed = [...ssh.stdout.matchAll(/^identityfile (.*)$/gm)].map((m) => m[1]);
    expect(listed.filter((f) => DEFAULT_IDENTITY_FILES.includes(f as string))).toEqual([...DEFAULT_IDENTITY_FILES]);
  });
});

describe("agrees with ssh -G", () => {
  /** ssh's own view of a destination: the settings hpcjob uses, from `ssh -G -F file`. */
  function sshG(file: string, home: string, destination: string): Record<string, string[]> {
    const r = spawnSync("ssh", ["-G", "-F", file, destination], { encoding: "utf8", env: { PATH: process.env.PATH, HOME: home } });
    if (r.error) throw r.error;
    expect(r.status, r.stderr).toBe(0);
    const settings: Record<string, string[]> = {};
    for (const line of r.stdout.split("\n")) {
      const [key, ...value] = line.split(" ");
      if (key) settings[key] = [...(settings[key] ?? []), value.join(" ")];
    }
    return settings;
  }

  it.each([
    "vera",
    "ssh://bob@vera:2222",
    "alvis",
    "deep",
    "nojump",
    "login1.c3se.chalmers.se",
    "bad.c3se.chalmers.se",
    "short-a",
    "first",
    "second",
    "upper",
    "Upper",
    "LOUD",
    "loud",
    "Some.Host",
    "short-Mixed",
    "node",
    "node1",
    "node12",
    "node9",
  ])("%s", (destination) => {
    const home = tempDir("hpcjob-home-");
    const file = join(home, "config");
    writeFileSync(file, CONFIG);
    const localUser = userInfo().username;
    const ours = targetFromConfigText(destination, { configText: CONFIG, home, account: { ...ACCOUNT, name: localUser, home } });
    const plainKey = (f: string) => f.startsWith(join(home, ".ssh", "id_"));
    const ssh = sshG(file, home, destination);
    expect({
      host: ours.host,
      user: ours.user,
      port: String(ours.port),
      identitiesOnly: ours.identitiesOnly ? "yes" : "no",
      proxyJump: ours.proxyJump.join(","),
      hostKeyAlias: ours.hostKeyAlias,
      // ssh -G prints IdentityFile as written: compare the ~/.ssh/id_* ones (tokens are tested above).
      identityFiles: ours.identityFiles.filter(plainKey),
    }).toEqual({
      host: ssh.hostname?.[0],
      user: ssh.user?.[0],
      port: ssh.port?.[0],
      identitiesOnly: ssh.identitiesonly?.[0],
      proxyJump: (ssh.proxyjump?.[0] ?? "").replace(/,\s*/g, ","),
      hostKeyAlias: ssh.hostkeyalias?.[0],
      identityFiles: (ssh.identityfile ?? []).map((f) => expandHome(f, home)).filter(plainKey),
    });
  });
});
