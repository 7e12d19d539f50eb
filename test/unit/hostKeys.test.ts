/**
 * The host key policy on real known_hosts files: which files are read and
 * written, which algorithms are asked for, and the verdict on a key. (The
 * same cases against the real sshd and the real ssh: test/e2e/ssh.e2e.test.ts.)
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hostKeyAlgorithms, readKnownHosts, verifyHostKey } from "../../src/exec/ssh/hostKeys.js";
import { fingerprint } from "../../src/exec/ssh/knownHosts.js";
import type { SshTarget } from "../../src/exec/ssh/settings.js";
import { ROOT, tempDir } from "../helpers.js";

const FIXTURES = join(ROOT, "test", "fixtures", "ssh");
/** The key line of a fixture .pub file (type and base64) and its wire-format blob. */
function pub(name: string): { text: string; blob: Buffer } {
  const [type, b64] = readFileSync(join(FIXTURES, name), "utf8").trim().split(/\s+/) as [string, string];
  return { text: `${type} ${b64}`, blob: Buffer.from(b64, "base64") };
}
const ED = pub("host_ed25519_a.pub");
const EC = pub("host_ecdsa.pub");
const RSA = pub("host_rsa.pub");

/** A target on 127.0.0.1:2223 whose known_hosts files are `files` (user) and `global`, in a fresh home. */
function targetWith(files: Record<string, string>, more: Partial<SshTarget> = {}, global: Record<string, string> = {}) {
  const home = tempDir("hpcjob-hk-");
  const path = (name: string) => join(home, name);
  for (const [name, text] of Object.entries({ ...files, ...global })) {
    mkdirSync(join(path(name), ".."), { recursive: true });
    writeFileSync(path(name), text);
  }
  const t: SshTarget = {
    alias: "login2",
    host: "127.0.0.1",
    port: 2223,
    user: "alice",
    identityFiles: [],
    identitiesOnly: false,
    proxyJump: [],
    userKnownHostsFiles: Object.keys(files).map(path),
    globalKnownHostsFiles: Object.keys(global).map(path),
    strictHostKeyChecking: "ask",
    hashKnownHosts: false,
    ...more,
  };
  return {
    t,
    home,
    path,
    verify: (key: Buffer, acceptNewHost = false) => verifyHostKey(t, key, readKnownHosts(t), { acceptNewHost, home }),
  };
}

/** The line numbers ssh-keygen -F finds for `name` in `file`. */
function keygenFound(file: string, name: string): number[] {
  const out = spawnSync("ssh-keygen", ["-F", name, "-f", file], { encoding: "utf8" }).stdout;
  return [...out.matchAll(/^# Host .* found: line (\d+)/gm)].map((m) => Number(m[1]));
}

describe("which host key algorithms are asked for", () => {
  const DEFAULTS = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256"];

  it("a host known only by its ECDSA key (in any of the files) is asked for ECDSA first", () => {
    const { t } = targetWith({ kh1: "", "kh2/x": `[127.0.0.1]:2223 ${EC.text}\n` });
    const algorithms = hostKeyAlgorithms(t, readKnownHosts(t));
    expect(algorithms[0]).toBe("ecdsa-sha2-nistp256");
    expect([...algorithms].sort()).toEqual([...DEFAULTS].sort());
  });

  it("uses OpenSSH's defaults for an unknown host, and the config's list without what ssh2 cannot check", () => {
    const { t } = targetWith({ kh: "" });
    expect(hostKeyAlgorithms(t, [])).toEqual(DEFAULTS);
    t.hostKeyAlgorithms = ["ssh-ed25519-cert-v01@openssh.com", "sk-ssh-ed25519@openssh.com", "rsa-sha2-256", "ssh-ed25519"];
    expect(hostKeyAlgorithms(t, [])).toEqual(["rsa-sha2-256", "ssh-ed25519"]);
  });

  it("looks the host up under its HostKeyAlias", () => {
    const { t } = targetWith({ kh: `login-alias ${RSA.text}\n` }, { hostKeyAlias: "login-alias" });
    expect(hostKeyAlgorithms(t, readKnownHosts(t)).slice(0, 2)).toEqual(["rsa-sha2-512", "rsa-sha2-256"]);
  });
});

describe("the verdict on the key the server shows", () => {
  it("connects to a known key, from a global file too", () => {
    expect(targetWith({ kh: `[127.0.0.1]:2223 ${ED.text}\n` }).verify(ED.blob)).toEqual({ ok: true });
    expect(targetWith({ kh: "" }, {}, { global: `[127.0.0.1]:2223 ${ED.text}\n` }).verify(ED.blob)).toEqual({ ok: true });
  });

  it("refuses a key of another type than the one recorded, even with --accept-new-host, and leaves the file alone", () => {
    const known = `[127.0.0.1]:2223 ${RSA.text}\n`;
    const { verify, path } = targetWith({ kh: known });
    for (const accept of [false, true]) {
      const v = verify(ED.blob, accept);
      expect(v.ok).toBe(false);
      expect(!v.ok && v.message).toBe(
        `WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED for [127.0.0.1]:2223: it shows ssh-ed25519 ${fingerprint(ED.blob)}, but ${path("kh")} line 1 has another key (ssh-rsa). Someone may be intercepting the connection, or the host was reinstalled: ask the cluster's administrators, and only then remove the old key with: ssh-keygen -R '[127.0.0.1]:2223' -f ${path("kh")}`,
      );
    }
    expect(readFileSync(path("kh"), "utf8")).toBe(known);
  });

  it("refuses an unknown host, naming the file and the key, unless accepting new hosts", () => {
    const { verify, path } = targetWith({ kh: "" });
    expect(verify(ED.blob)).toEqual({
      ok: false,
      message: `the host [127.0.0.1]:2223 is not in ${path("kh")}; its key is ssh-ed25519 ${fingerprint(ED.blob)}. If that is the key your cluster publishes, accept it with --accept-new-host (or connect once with ssh login2 and answer yes)`,
    });
    expect(readFileSync(path("kh"), "utf8")).toBe("");
  });

  it("adds a new host to the first user file only, on a new line when the last one has none", () => {
    const other = `other.example.org ${EC.text}`;
    const { verify, path } = targetWith({ first: other, second: "" }, {}, { global: "" });
    expect(verify(ED.blob, true)).toEqual({
      ok: true,
      note: `added [127.0.0.1]:2223 (ssh-ed25519 ${fingerprint(ED.blob)}) to ${path("first")}`,
    });
    expect(readFileSync(path("first"), "utf8")).toBe(`${other}\n[127.0.0.1]:2223 ${ED.text}\n`);
    expect(keygenFound(path("first"), "other.example.org")).toEqual([1]);
    expect(keygenFound(path("first"), "[127.0.0.1]:2223")).toEqual([2]);
    expect(readFileSync(path("second"), "utf8")).toBe("");
    expect(readFileSync(path("global"), "utf8")).toBe("");
  });

  it("takes StrictHostKeyChecking accept-new and no as accepting new hosts, yes and ask not", () => {
    for (const [strict, accepts] of [
      ["accept-new", true],
      ["no", true],
      ["yes", false],
      ["ask", false],
    ] as const) {
      expect([strict, targetWith({ kh: "" }, { strictHostKeyChecking: strict }).verify(ED.blob).ok]).toEqual([strict, accepts]);
    }
    // `no` never means connecting to a changed key.
    expect(targetWith({ kh: `[127.0.0.1]:2223 ${RSA.text}\n` }, { strictHostKeyChecking: "no" }).verify(ED.blob).ok).toBe(false);
  });

  it("writes the name hashed when HashKnownHosts is on", () => {
    const { verify, path } = targetWith({ kh: "" }, { hashKnownHosts: true });
    expect(verify(ED.blob, true).ok).toBe(true);
    const text = readFileSync(path("kh"), "utf8");
    expect(text).toMatch(/^\|1\|\S+\|\S+ ssh-ed25519 \S+\n$/);
    expect(keygenFound(path("kh"), "[127.0.0.1]:2223")).toEqual([1]);
  });

  it("creates ~/.ssh (mode 0700) for the first file as ssh does, and nothing else", () => {
    const home = tempDir("hpcjob-hk-");
    const t = targetWith({ kh: "" }).t;
    t.userKnownHostsFiles = [join(home, ".ssh", "known_hosts")];
    expect(verifyHostKey(t, ED.blob, [], { acceptNewHost: true, home }).ok).toBe(true);
    expect(statSync(join(home, ".ssh")).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(home, ".ssh", "known_hosts"), "utf8")).toBe(`[127.0.0.1]:2223 ${ED.text}\n`);

    t.userKnownHostsFiles = [join(home, "missing", "known_hosts")];
    const v = verifyHostKey(t, ED.blob, [], { acceptNewHost: true, home });
    expect(v).toMatchObject({
      ok: true,
      note: expect.stringMatching(/^accepted the new host .* but could not add it to .*missing\/known_hosts: ENOENT/),
    });
    expect(existsSync(join(home, "missing"))).toBe(false);
  });
});
