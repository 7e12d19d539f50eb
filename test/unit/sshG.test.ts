/**
 * Where a destination goes when OpenSSH's ssh is installed: ssh -G's answer
 * read into an SshTarget (tokens, ~ and ${VAR} expanded as ssh expands them
 * when it connects), and the order of the user's config, the profile's
 * defaults and the system's config, checked with the real `ssh -G`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ProfileError, UsageError } from "../../src/core/errors.js";
import type { LocalAccount } from "../../src/exec/ssh/settings.js";
import { parseSshG, sshGArgs, sshGConfig, targetFromSshG } from "../../src/exec/ssh/sshG.js";
import { resolveTarget } from "../../src/exec/ssh/target.js";
import { tempDir } from "../helpers.js";

const ACCOUNT: LocalAccount = { name: "me", home: "/home/me", uid: 1000, hostname: "laptop.example.org" };

/** An excerpt of what ssh -G prints, with `extra` lines added. */
function sshGOutput(extra: string): string {
  return `host vera
user cid
hostname vera2.c3se.chalmers.se
port 2200
identitiesonly yes
identityfile ~/.ssh/id_vera
identityfile %d/.ssh/%r@%h:%p-%n-%u-%L
identityfile \${KEYS}/id_env
identityfile ~/.ssh/id_vera
userknownhostsfile /home/me/.ssh/known_hosts /home/me/.ssh/known_hosts2
globalknownhostsfile /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2
hostkeyalgorithms ssh-ed25519-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512
stricthostkeychecking ask
hashknownhosts yes
sendenv LANG
sendenv LC_*
${extra}`;
}

/** targetFromSshG for the excerpt plus `extra`. */
function target(extra = "", env: Record<string, string> = { KEYS: "/keys" }) {
  return targetFromSshG("vera", parseSshG(sshGOutput(extra)), { account: ACCOUNT, env });
}

describe("reading ssh -G's answer", () => {
  it("takes host, port, user, keys, known_hosts files and host key settings, expanding IdentityFile as ssh does", () => {
    expect(target()).toEqual({
      alias: "vera",
      host: "vera2.c3se.chalmers.se",
      port: 2200,
      user: "cid",
      identityFiles: ["/home/me/.ssh/id_vera", "/home/me/.ssh/cid@vera2.c3se.chalmers.se:2200-vera-me-laptop", "/keys/id_env"],
      identitiesOnly: true,
      proxyJump: [],
      userKnownHostsFiles: ["/home/me/.ssh/known_hosts", "/home/me/.ssh/known_hosts2"],
      globalKnownHostsFiles: ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"],
      strictHostKeyChecking: "ask",
      hostKeyAlgorithms: ["ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512"],
      hashKnownHosts: true,
    });
  });

  it("splits ProxyJump into hops and reads none as no hop", () => {
    expect(target("proxyjump alice@gw1:2201,gw2").proxyJump).toEqual(["alice@gw1:2201", "gw2"]);
    expect(target("proxyjump none").proxyJump).toEqual([]);
  });

  it("expands ProxyCommand's tokens (%h %p %r %n %%) and only those, saying which it left", () => {
    expect(target("proxycommand ssh -W %h:%p -l %r %n 100%%").proxyCommand).toBe("ssh -W vera2.c3se.chalmers.se:2200 -l cid vera 100%");
    const t = target("proxycommand nc %h %p %d");
    expect(t.proxyCommand).toBe("nc vera2.c3se.chalmers.se 2200 %d");
    expect(t.ignored).toEqual(["%d in ProxyCommand nc %h %p %d (not expanded)"]);
    expect(target("proxycommand none").proxyCommand).toBeUndefined();
  });

  it("maps StrictHostKeyChecking's words (true, false, ...) to yes, ask, accept-new, no", () => {
    for (const [word, meaning] of [
      ["true", "yes"],
      ["false", "no"],
      ["accept-new", "accept-new"],
      ["ask", "ask"],
    ] as const) {
      const t = targetFromSshG("h", parseSshG(`hostname h\nport 22\nuser u\nstricthostkeychecking ${word}\n`), {
        account: ACCOUNT,
        env: {},
      });
      expect([word, t.strictHostKeyChecking]).toEqual([word, meaning]);
    }
  });

  it("names what it could not expand or follow: an unset variable, an unknown token, ProxyUseFdpass", () => {
    const t = target("identityfile ~/.ssh/%C\nproxyusefdpass yes", {});
    expect(t.ignored).toEqual([
      `\${KEYS} in IdentityFile \${KEYS}/id_env (not set)`,
      "%C in IdentityFile ~/.ssh/%C (not expanded)",
      "ProxyUseFdpass yes (the ProxyCommand's stdin/stdout are used)",
    ]);
  });

  it("keeps HostKeyAlias, and reads UserKnownHostsFile none as no file", () => {
    expect(target("hostkeyalias vera-login").hostKeyAlias).toBe("vera-login");
    expect(targetFromSshG("h", parseSshG("userknownhostsfile none\n"), { account: ACCOUNT, env: {} }).userKnownHostsFiles).toEqual([]);
  });
});

describe("the arguments and configuration given to ssh -G", () => {
  it("gives the destination's own user and port as -l and -p, after -- so a host is never an option", () => {
    expect(sshGArgs("/tmp/c", { host: "vera" })).toEqual(["-F", "/tmp/c", "-G", "-T", "--", "vera"]);
    expect(sshGArgs("/tmp/c", { user: "me@x", host: "::1", port: 77 })).toEqual([
      "-F",
      "/tmp/c",
      "-G",
      "-T",
      "-l",
      "me@x",
      "-p",
      "77",
      "--",
      "::1",
    ]);
  });

  it("includes the user's config, then the profile's Port and User (22 left to ssh), then the system's", () => {
    expect(sshGConfig("/home/me/.ssh/config", { user: "prof", port: 2222 })).toBe(
      "Include /home/me/.ssh/config\nHost *\n  Port 2222\n  User prof\nInclude /etc/ssh/ssh_config\n",
    );
    expect(sshGConfig("/home/my home/.ssh/config", { port: 22 })).toBe(
      'Include "/home/my home/.ssh/config"\nHost *\nInclude /etc/ssh/ssh_config\n',
    );
  });
});

describe("resolveTarget with the real ssh", () => {
  /** A home with `.ssh/config` = `config` (or none), and the account whose passwd home it is. */
  function home(config?: string): LocalAccount {
    const dir = tempDir("hpcjob-sshg-");
    mkdirSync(join(dir, ".ssh"));
    if (config !== undefined) writeFileSync(join(dir, ".ssh", "config"), config, { mode: 0o600 });
    return { ...ACCOUNT, home: dir };
  }
  const env = { PATH: process.env.PATH };

  it("follows Include, Host patterns and Match as ssh does; the config beats the profile's defaults, which beat ssh's own", async () => {
    const account = home();
    const included = join(account.home, "included.conf");
    writeFileSync(included, "Host login-*\n  HostName %h.example.org\n  Port 2201\nMatch originalhost login-b\n  User matched\n");
    writeFileSync(join(account.home, ".ssh", "config"), `Include ${included}\n`, { mode: 0o600 });
    const opts = { env, home: "/nonexistent", account, defaultUser: "prof", defaultPort: 2222 };
    expect((await resolveTarget("login-a", opts)).target).toMatchObject({ host: "login-a.example.org", port: 2201, user: "prof" });
    expect((await resolveTarget("login-b", opts)).target).toMatchObject({ host: "login-b.example.org", port: 2201, user: "matched" });
    expect((await resolveTarget("other", opts)).target).toMatchObject({ host: "other", port: 2222, user: "prof" });
    expect((await resolveTarget("bob@login-b:2", opts)).target).toMatchObject({ port: 2, user: "bob" });
    const bare = await resolveTarget("other", { env, home: "/nonexistent", account });
    expect(bare).toMatchObject({ by: "ssh", target: { port: 22 } });
  });

  it("works without a ~/.ssh/config", async () => {
    const r = await resolveTarget("gw.example.org", { env, home: "/nonexistent", account: home(), defaultUser: "prof" });
    expect(r.target).toMatchObject({ host: "gw.example.org", user: "prof", port: 22 });
  });

  it("says what ssh says about a broken config, as a ProfileError", async () => {
    const account = home("Host x\n  NoSuchOption yes\n");
    const r = resolveTarget("x", { env, home: "/nonexistent", account });
    await expect(r).rejects.toThrow(ProfileError);
    await expect(r).rejects.toThrow(
      /^ssh cannot read its configuration for x: .*Bad configuration option: nosuchoption; fix ~\/\.ssh\/config/,
    );
  });

  it("refuses a destination or profile user that is not one before running anything", async () => {
    const account = home();
    await expect(resolveTarget("-oProxyCommand=x", { env, home: "/nonexistent", account })).rejects.toThrow(UsageError);
    await expect(resolveTarget("x", { env, home: "/nonexistent", account, defaultUser: "a\n  ProxyCommand evil" })).rejects.toThrow(
      /login.user .* is not a valid user name/,
    );
  });

  it("reads $HOME/.ssh/config itself when there is no ssh on PATH", async () => {
    const fallbackHome = tempDir("hpcjob-nossh-");
    mkdirSync(join(fallbackHome, ".ssh"));
    writeFileSync(join(fallbackHome, ".ssh", "config"), "Include ~/.ssh/conf.d/*\nHost box\n  HostName box.example.org\n  Port 2022\n");
    const opts = { env: { PATH: tempDir() }, home: fallbackHome, account: home() };
    expect(await resolveTarget("box", opts)).toMatchObject({
      by: "hpcjob",
      target: { host: "box.example.org", port: 2022, user: "me", ignored: ["Include ~/.ssh/conf.d/*"] },
    });
    // The profile's defaults lose to the file and beat the local account, as with ssh.
    const withDefaults = await resolveTarget("box", { ...opts, defaultUser: "prof", defaultPort: 2200 });
    expect(withDefaults.target).toMatchObject({ user: "prof", port: 2022 });
  });
});
