/**
 * Host key policy, as strict as OpenSSH's: which known_hosts files are read
 * (every UserKnownHostsFile, then the GlobalKnownHostsFiles), which host key
 * algorithms are asked for (known types first), and what happens to the key
 * the server shows: known → connect; revoked or changed (a key of any type is
 * recorded and this one is not it) → refuse, always; unknown → refuse, or add
 * it to the first UserKnownHostsFile with --accept-new-host or
 * StrictHostKeyChecking accept-new/no. hpcjob never connects to a changed key.
 */
import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { quote } from "../../core/quote.js";
import {
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
} from "./knownHosts.js";
import type { SshTarget } from "./settings.js";

/** The host key algorithms ssh2 can verify, in its order. */
const SSH2_ALGORITHMS: readonly string[] = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
  "ssh-dss",
];

/** OpenSSH 9's default HostKeyAlgorithms that ssh2 can verify: no SHA-1 signatures (ssh-rsa, ssh-dss), which it turned off. */
const OPENSSH_DEFAULT = SSH2_ALGORITHMS.filter((a) => a !== "ssh-rsa" && a !== "ssh-dss");

/** Whether to connect, and if not, the one line that says why. `note` is something worth telling even so. */
export type HostKeyVerdict = { ok: true; note?: string } | { ok: false; message: string };

/** The name and port known_hosts records the target under: HostKeyAlias as written, else host (and port). */
export function knownHostsName(t: SshTarget): { name: string; port: number } {
  // OpenSSH keeps a HostKeyAlias's key under the alias as written, never as [alias]:port.
  return t.hostKeyAlias === undefined ? { name: t.host, port: t.port } : { name: t.hostKeyAlias, port: 22 };
}

/** Every entry of the target's known_hosts files, user files first; a missing or unreadable file holds none. */
export function readKnownHosts(t: SshTarget): KnownHostEntry[] {
  return [...t.userKnownHostsFiles, ...t.globalKnownHostsFiles].flatMap((file) => {
    try {
      return parseKnownHosts(readFileSync(file, "utf8"), file);
    } catch {
      return [];
    }
  });
}

/**
 * The host key algorithms to offer: the target's HostKeyAlgorithms (OpenSSH's
 * default when unknown) that ssh2 can verify, those whose key type
 * known_hosts holds for the host first. Empty when none is left.
 */
export function hostKeyAlgorithms(t: SshTarget, entries: readonly KnownHostEntry[]): string[] {
  const usable = (t.hostKeyAlgorithms ?? OPENSSH_DEFAULT).filter((a) => SSH2_ALGORITHMS.includes(a));
  const { name, port } = knownHostsName(t);
  const known = new Set(
    entriesFor(entries, name, port)
      .filter((e) => e.marker === undefined)
      .map((e) => e.keyType),
  );
  return orderHostKeyAlgorithms(usable, known);
}

/** True when an unknown host's key may be added: --accept-new-host, or StrictHostKeyChecking accept-new or no. */
function acceptsNew(t: SshTarget, acceptNewHost: boolean): boolean {
  // `no` would let ssh connect even to a changed key; hpcjob treats it as accept-new.
  return acceptNewHost || t.strictHostKeyChecking === "accept-new" || t.strictHostKeyChecking === "no";
}

/** Add a line to a known_hosts file, keeping the last line valid when it has no newline; ssh creates only ~/.ssh itself. */
function addKnownHost(file: string, line: string, home: string): void {
  const sshDir = join(home, ".ssh");
  if (dirname(file) === sshDir) mkdirSync(sshDir, { recursive: true, mode: 0o700 });
  const current = existsSync(file) ? readFileSync(file, "utf8") : "";
  appendFileSync(file, appendText(current, line), { mode: 0o600 });
}

/** Judge the key the server showed for `t`; adds it to the first UserKnownHostsFile when it is new and may be accepted. */
export function verifyHostKey(
  t: SshTarget,
  key: Buffer,
  entries: readonly KnownHostEntry[],
  opts: { acceptNewHost: boolean; home: string },
): HostKeyVerdict {
  const { name, port } = knownHostsName(t);
  const check = checkHostKey(entries, name, port, key);
  const where = hostPattern(name, port);
  const fp = `${keyType(key)} ${fingerprint(key)}`;
  const file = t.userKnownHostsFiles[0];
  switch (check.status) {
    case "known":
      return { ok: true };
    case "revoked":
      return { ok: false, message: `the host key of ${where} (${fp}) is marked @revoked in known_hosts; refusing to connect` };
    case "changed": {
      const old = check.entry;
      const remove = old.file === undefined ? "" : ` -f ${quote(old.file)}`;
      return {
        ok: false,
        message: `WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED for ${where}: it shows ${fp}, but ${old.file ?? "known_hosts"} line ${old.line} has another key (${old.keyType}). Someone may be intercepting the connection, or the host was reinstalled: ask the cluster's administrators, and only then remove the old key with: ssh-keygen -R ${quote(where)}${remove}`,
      };
    }
    case "unknown":
      if (!acceptsNew(t, opts.acceptNewHost)) {
        return {
          ok: false,
          message: `the host ${where} is not in ${file ?? "known_hosts (UserKnownHostsFile is none)"}; its key is ${fp}. If that is the key your cluster publishes, accept it with --accept-new-host (or connect once with ssh ${t.alias} and answer yes)`,
        };
      }
      if (file === undefined)
        return { ok: true, note: `accepted the new host ${where} (${fp}) without recording it: UserKnownHostsFile is none` };
      try {
        addKnownHost(file, knownHostsLine(name, port, key, t.hashKnownHosts ? randomBytes(20) : undefined), opts.home);
        return { ok: true, note: `added ${where} (${fp}) to ${file}` };
      } catch (e) {
        // As ssh: the key was accepted; only remembering it failed.
        return { ok: true, note: `accepted the new host ${where} (${fp}) but could not add it to ${file}: ${(e as Error).message}` };
      }
  }
}
