/**
 * known_hosts handling against real OpenSSH data: the keys, files and
 * fingerprints in test/fixtures/ssh come from ssh-keygen (make.sh there),
 * and host matching is compared with `ssh-keygen -F` on the same files.
 * (test/e2e/ssh.e2e.test.ts checks the verdicts against the real ssh.)
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ExecError } from "../../src/core/errors.js";
import {
  algorithmKeyType,
  appendText,
  checkHostKey,
  entriesFor,
  fingerprint,
  hostPattern,
  type KnownHostEntry,
  keyType,
  knownHostsLine,
  orderHostKeyAlgorithms,
  parseKnownHosts,
} from "../../src/exec/ssh/knownHosts.js";
import { ROOT, tempDir } from "../helpers.js";

const FIXTURES = join(ROOT, "test", "fixtures", "ssh");

/** A fixture file's text. */
function fixture(name: string): string {
  return readFileSync(join(FIXTURES, name), "utf8");
}

/** The wire-format key blob of a `.pub` file (its base64 field decoded). */
function blobOf(pubText: string): Buffer {
  return Buffer.from(pubText.trim().split(/\s+/)[1] ?? "", "base64");
}

/** Run ssh-keygen, failing the test if it cannot run. */
function sshKeygen(args: string[]): { status: number; stdout: string } {
  const r = spawnSync("ssh-keygen", args, { encoding: "utf8" });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout };
}

/** The line numbers `ssh-keygen -F name -f file` reports for a host. */
function keygenFound(file: string, name: string): number[] {
  const out = sshKeygen(["-F", name, "-f", file]).stdout;
  return [...out.matchAll(/^# Host .* found: line (\d+)/gm)].map((m) => Number(m[1]));
}

/** The 1-based number of the line of `text` that contains `needle`. */
function lineOf(text: string, needle: string): number {
  return text.split("\n").findIndex((l) => l.includes(needle)) + 1;
}

const A = blobOf(fixture("host_ed25519_a.pub")); // "the" host key
const B = blobOf(fixture("host_ed25519_b.pub")); // another ed25519 key
const R = blobOf(fixture("host_rsa.pub"));
const E = blobOf(fixture("host_ecdsa.pub"));

const FILES = { plain: "known_hosts", hashed: "known_hosts.hashed" } as const;

describe("parseKnownHosts", () => {
  it("records the file an entry came from when it is named", () => {
    expect(parseKnownHosts(fixture("known_hosts"), "/x/known_hosts")[0]).toMatchObject({ file: "/x/known_hosts", line: 2 });
  });

  it("reads every entry of a plain file with markers, types and comments", () => {
    const entries = parseKnownHosts(fixture("known_hosts"));
    expect(entries).toHaveLength(14);
    expect(entries[0]).toEqual({
      line: 2,
      hosts: "vera.example.org,10.0.0.5",
      keyType: "ssh-ed25519",
      key: A,
      comment: "vera, two names",
    } satisfies KnownHostEntry);
    expect(entries.filter((e) => e.marker).map((e) => [e.marker, e.hosts])).toEqual([
      ["revoked", "revoked.example.org"],
      ["cert-authority", "ca.example.org"],
    ]);
    expect(new Set(entries.map((e) => e.keyType))).toEqual(new Set(["ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256"]));
  });

  it("reads the file ssh-keygen -H hashed: one line per name, wildcards and marker lines left plain", () => {
    const entries = parseKnownHosts(fixture("known_hosts.hashed"));
    expect(entries).toHaveLength(15);
    expect(entries.filter((e) => e.hosts.startsWith("|1|"))).toHaveLength(11);
    expect(entries.map((e) => e.hosts)).toContain("*.c3se.example.org,!bad.c3se.example.org");
  });

  it("skips comments, blank, short, non-base64, type-mismatched, SSH-1, unknown-marker and bad-salt lines", () => {
    const entries = parseKnownHosts(fixture("known_hosts.odd"));
    expect(entries.map((e) => [e.line, e.hosts, e.comment])).toEqual([
      [3, "indented.example.org", "leading blanks"],
      [11, "crlf.example.org", "windows line end"],
    ]);
  });

  it("reads nothing from an empty file", () => {
    expect(parseKnownHosts("")).toEqual([]);
    expect(parseKnownHosts("\n# only a comment\n")).toEqual([]);
  });
});

describe.each(Object.entries(FILES))("checkHostKey on the %s fixture", (_kind, file) => {
  const text = fixture(file);
  const entries = parseKnownHosts(text);
  const check = (host: string, port: number, key: Buffer) => checkHostKey(entries, host, port, key);

  it("knows a host by any of its names, case-insensitively", () => {
    expect(check("vera.example.org", 22, A)).toEqual({ status: "known" });
    expect(check("10.0.0.5", 22, A)).toEqual({ status: "known" });
    expect(check("VERA.Example.org", 22, A)).toEqual({ status: "known" });
    expect(check("mixed.example.org", 22, A)).toEqual({ status: "known" });
  });

  it("knows [host]:port entries only on that port", () => {
    expect(check("login.example.org", 2222, A)).toEqual({ status: "known" });
    expect(check("127.0.0.1", 2222, A)).toEqual({ status: "known" });
    expect(check("127.0.0.1", 22, A)).toEqual({ status: "unknown" });
    expect(check("127.0.0.1", 2223, A)).toEqual({ status: "unknown" });
    expect(check("login.example.org", 22, R)).toEqual({ status: "known" });
  });

  it("says unknown for a host it has never seen", () => {
    expect(check("nowhere.example.org", 22, A)).toEqual({ status: "unknown" });
  });

  /** The line number of the entry a "changed" verdict points at. */
  const changedLine = (host: string, port: number, key: Buffer) => {
    const c = check(host, port, key);
    return c.status === "changed" ? c.entry.line : c.status;
  };

  it("says changed, with the line, when a key of the same type differs", () => {
    expect(changedLine("vera.example.org", 22, B)).toBe(2);
    // changed.example.org also has an RSA key: the message names the ed25519 line, the key that was replaced.
    expect(changedLine("changed.example.org", 22, A)).toBe(lineOf(text, B.toString("base64")));
    expect(check("vera.example.org", 22, B)).toMatchObject({
      status: "changed",
      entry: { keyType: "ssh-ed25519", hosts: expect.any(String) },
    });
  });

  it("says changed when only keys of other types are known, as OpenSSH's hostfile.c does", () => {
    // ssh asks for the known types first; a host that shows another type has lost its key.
    expect(check("rsaonly.example.org", 22, A)).toMatchObject({ status: "changed", entry: { keyType: "ssh-rsa" } });
    expect(check("login.example.org", 22, A).status).toBe("changed");
    expect(check("login.example.org", 2222, R).status).toBe("changed");
    expect(check("ecdsa.example.org", 22, A).status).toBe("changed");
    expect(check("ecdsa.example.org", 22, E)).toEqual({ status: "known" });
    // changed.example.org has an RSA key and an old ed25519 one: its RSA key is still known, A is not.
    expect(check("changed.example.org", 22, R)).toEqual({ status: "known" });
    expect(check("changed.example.org", 22, A).status).toBe("changed");
  });

  it("says revoked for a @revoked key, even when a plain line lists it too", () => {
    expect(check("revoked.example.org", 22, A)).toEqual({ status: "revoked" });
    expect(check("revoked.example.org", 22, B).status).toBe("changed");
  });

  it("never lets a @cert-authority line vouch for a plain host key", () => {
    expect(check("ca.example.org", 22, A)).toEqual({ status: "unknown" });
  });

  it("matches * and ? wildcards, and a negated pattern vetoes the line", () => {
    expect(check("x.c3se.example.org", 22, A)).toEqual({ status: "known" });
    expect(check("a.b.c3se.example.org", 22, A)).toEqual({ status: "known" });
    expect(check("bad.c3se.example.org", 22, A)).toEqual({ status: "unknown" });
    expect(check("c3se.example.org", 22, A)).toEqual({ status: "unknown" });
    expect(check("x.c3se.example.org", 2222, A)).toEqual({ status: "unknown" });
    expect(check("node1.example.org", 22, A)).toEqual({ status: "known" });
    expect(check("node.example.org", 22, A)).toEqual({ status: "unknown" });
    expect(check("node12.example.org", 22, A)).toEqual({ status: "unknown" });
  });

  it("finds the same lines as ssh-keygen -F", () => {
    const queries: [string, number][] = [
      ["vera.example.org", 22],
      ["10.0.0.5", 22],
      ["login.example.org", 22],
      ["login.example.org", 2222],
      ["127.0.0.1", 2222],
      ["127.0.0.1", 22],
      ["x.c3se.example.org", 22],
      ["bad.c3se.example.org", 22],
      ["node7.example.org", 22],
      ["node77.example.org", 22],
      ["changed.example.org", 22],
      ["revoked.example.org", 22],
      ["ca.example.org", 22],
      ["mixed.example.org", 22],
      ["nowhere.example.org", 22],
    ];
    const path = join(FIXTURES, file);
    for (const [host, port] of queries) {
      const ours = entriesFor(entries, host, port).map((e) => e.line);
      expect({ host, port, lines: ours }).toEqual({ host, port, lines: keygenFound(path, hostPattern(host, port)) });
    }
  });
});

describe("fingerprint and keyType", () => {
  const pubs = ["host_ed25519_a.pub", "host_ed25519_b.pub", "host_rsa.pub", "host_ecdsa.pub"];

  it("match what ssh-keygen -lf printed when the fixtures were made", () => {
    const recorded = fixture("fingerprints.txt").trim().split("\n");
    expect(recorded).toHaveLength(pubs.length);
    for (const row of recorded) {
      const [file, , fp] = row.split(" ");
      expect(fingerprint(blobOf(fixture(file as string)))).toBe(fp);
    }
  });

  it("match ssh-keygen -lf and the .pub file for fresh keys of every type", () => {
    const dir = tempDir("hpcjob-keys-");
    const kinds: [string, string[], string][] = [
      ["ed25519", [], "ssh-ed25519"],
      ["rsa", ["-b", "2048"], "ssh-rsa"],
      ["ecdsa", ["-b", "256"], "ecdsa-sha2-nistp256"],
      ["ecdsa", ["-b", "384"], "ecdsa-sha2-nistp384"],
      ["ecdsa", ["-b", "521"], "ecdsa-sha2-nistp521"],
    ];
    kinds.forEach(([type, bits, expectedType], i) => {
      const file = join(dir, `key${i}`);
      expect(sshKeygen(["-q", "-t", type, ...bits, "-N", "", "-C", "", "-f", file]).status).toBe(0);
      const pub = readFileSync(`${file}.pub`, "utf8");
      const blob = blobOf(pub);
      expect(keyType(blob)).toBe(expectedType);
      expect(keyType(blob)).toBe(pub.split(" ")[0]);
      expect(fingerprint(blob)).toBe(sshKeygen(["-lf", `${file}.pub`]).stdout.split(" ")[1]);
    });
  });

  it("has no = padding", () => {
    for (const pub of pubs) expect(fingerprint(blobOf(fixture(pub)))).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it("refuses a blob that is not an SSH key", () => {
    expect(() => keyType(Buffer.from([0, 0, 0]))).toThrow(ExecError);
    expect(() => keyType(Buffer.from([0, 0, 1, 0, 65]))).toThrow(ExecError);
    expect(() => checkHostKey([], "h", 22, Buffer.alloc(0))).toThrow(/not an SSH public key/);
  });
});

describe("hostPattern and knownHostsLine", () => {
  it("names a host as known_hosts does", () => {
    expect(hostPattern("vera.example.org", 22)).toBe("vera.example.org");
    expect(hostPattern("127.0.0.1", 2222)).toBe("[127.0.0.1]:2222");
    expect(hostPattern("::1", 2222)).toBe("[::1]:2222");
    expect(hostPattern("Vera.Example.ORG", 22)).toBe("vera.example.org");
  });

  it("writes plain lines that parse back as known", () => {
    const pub = fixture("host_ed25519_a.pub").split(" ");
    expect(knownHostsLine("vera.example.org", 22, A)).toBe(`vera.example.org ssh-ed25519 ${pub[1]}\n`);
    expect(knownHostsLine("127.0.0.1", 2222, R)).toMatch(/^\[127\.0\.0\.1\]:2222 ssh-rsa AAAAB3NzaC1yc2E[^ ]+\n$/);
    const text = knownHostsLine("vera.example.org", 22, A) + knownHostsLine("127.0.0.1", 2222, E);
    const entries = parseKnownHosts(text);
    expect(checkHostKey(entries, "vera.example.org", 22, A)).toEqual({ status: "known" });
    expect(checkHostKey(entries, "127.0.0.1", 2222, E)).toEqual({ status: "known" });
    expect(checkHostKey(entries, "127.0.0.1", 22, E)).toEqual({ status: "unknown" });
  });

  it("writes lines ssh-keygen finds, and finds them again after ssh-keygen -H hashed them", () => {
    const file = join(tempDir("hpcjob-kh-"), "known_hosts");
    writeFileSync(file, knownHostsLine("gpu.example.org", 22, A) + knownHostsLine("127.0.0.1", 2222, E));
    expect(keygenFound(file, "gpu.example.org")).toEqual([1]);
    expect(keygenFound(file, "[127.0.0.1]:2222")).toEqual([2]);
    expect(sshKeygen(["-q", "-H", "-f", file]).status).toBe(0);
    const hashed = readFileSync(file, "utf8");
    expect(hashed).not.toContain("example.org");
    const entries = parseKnownHosts(hashed);
    expect(checkHostKey(entries, "gpu.example.org", 22, A)).toEqual({ status: "known" });
    expect(checkHostKey(entries, "127.0.0.1", 2222, E)).toEqual({ status: "known" });
    expect(checkHostKey(entries, "127.0.0.1", 2222, A)).toMatchObject({ status: "changed", entry: { line: 2 } });
    expect(checkHostKey(entries, "gpu.example.org", 22, B)).toMatchObject({ status: "changed", entry: { line: 1 } });
    expect(checkHostKey(entries, "other.example.org", 22, B)).toEqual({ status: "unknown" });
  });
});

describe("the host key algorithms to ask for", () => {
  const DEFAULT = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-512", "rsa-sha2-256"];

  it("puts the algorithms of known key types first, each group in its order, as OpenSSH's order_hostkeyalgs", () => {
    expect(orderHostKeyAlgorithms(DEFAULT, new Set(["ecdsa-sha2-nistp256"]))).toEqual([
      "ecdsa-sha2-nistp256",
      "ssh-ed25519",
      "ecdsa-sha2-nistp384",
      "ecdsa-sha2-nistp521",
      "rsa-sha2-512",
      "rsa-sha2-256",
    ]);
    expect(orderHostKeyAlgorithms(DEFAULT, new Set(["ssh-rsa", "ecdsa-sha2-nistp521"]))).toEqual([
      "ecdsa-sha2-nistp521",
      "rsa-sha2-512",
      "rsa-sha2-256",
      "ssh-ed25519",
      "ecdsa-sha2-nistp256",
      "ecdsa-sha2-nistp384",
    ]);
    expect(orderHostKeyAlgorithms(DEFAULT, new Set())).toEqual(DEFAULT);
  });

  it("knows that every RSA signature algorithm uses an ssh-rsa key", () => {
    expect(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", "ssh-ed25519"].map(algorithmKeyType)).toEqual([
      "ssh-rsa",
      "ssh-rsa",
      "ssh-rsa",
      "ssh-ed25519",
    ]);
  });
});

describe("adding to a known_hosts file", () => {
  it("starts a new line when the last one has no newline, so both stay valid (ssh-keygen finds both)", () => {
    const file = join(tempDir("hpcjob-kh-"), "known_hosts");
    const first = knownHostsLine("gpu.example.org", 22, A).trimEnd();
    writeFileSync(file, first);
    writeFileSync(file, first + appendText(first, knownHostsLine("127.0.0.1", 2222, E)));
    expect(keygenFound(file, "gpu.example.org")).toEqual([1]);
    expect(keygenFound(file, "[127.0.0.1]:2222")).toEqual([2]);
    expect(appendText("", "x\n")).toBe("x\n");
    expect(appendText("a\n", "x\n")).toBe("x\n");
  });

  it("writes a hashed line (HashKnownHosts) that ssh-keygen finds and that names no host", () => {
    const file = join(tempDir("hpcjob-kh-"), "known_hosts");
    const salt = Buffer.alloc(20, 7);
    const line = knownHostsLine("127.0.0.1", 2222, A, salt);
    expect(line).toMatch(/^\|1\|[A-Za-z0-9+/=]{28}\|[A-Za-z0-9+/=]{28} ssh-ed25519 AAAA\S+\n$/);
    expect(line).not.toContain("127.0.0.1");
    writeFileSync(file, line);
    expect(keygenFound(file, "[127.0.0.1]:2222")).toEqual([1]);
    expect(keygenFound(file, "127.0.0.1")).toEqual([]);
    expect(checkHostKey(parseKnownHosts(line), "127.0.0.1", 2222, A)).toEqual({ status: "known" });
  });
});
