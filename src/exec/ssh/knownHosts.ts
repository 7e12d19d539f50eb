/**
 * OpenSSH known_hosts files (sshd(8), SSH_KNOWN_HOSTS FILE FORMAT): parsing,
 * looking a host up the way ssh does (hostfile.c), the host key algorithms
 * to ask for first (sshconnect2.c order_hostkeyalgs), and the text to add for
 * a new host. Pure: hostKeys.ts reads and appends the files and gets the key
 * from the connection (ssh2's hostVerifier hands over the raw wire-format key).
 *
 * Not supported, as hpcjob never needs them: host certificates (a
 * @cert-authority line is kept but never vouches for a plain host key),
 * CheckHostIP (the address is not looked up separately) and the SSH-1
 * `bits exponent modulus` lines (skipped like any malformed line).
 */
import { createHash, createHmac } from "node:crypto";
import { ExecError } from "../../core/errors.js";

/** One usable line of a known_hosts file. */
export interface KnownHostEntry {
  /** The file it was read from, for messages (when the caller named it). */
  file?: string;
  /** 1-based line number in the file, for messages. */
  line: number;
  marker?: "cert-authority" | "revoked";
  /** The comma-separated host patterns exactly as written (plain or `|1|salt|hash`). */
  hosts: string;
  /** The key type written on the line, e.g. ssh-ed25519 (equal to the type inside `key`). */
  keyType: string;
  /** The key in SSH wire format (the base64 field decoded). */
  key: Buffer;
  comment?: string;
}

/** What known_hosts says about a host's key. */
export type HostKeyCheck =
  | { status: "known" }
  | { status: "unknown" }
  | { status: "changed"; entry: KnownHostEntry }
  | { status: "revoked" };

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const HASH_MAGIC = "|1|";
// OpenSSH refuses hashed names whose salt is not one SHA-1 output long.
const SHA1_BYTES = 20;

/** The type string at the start of a wire-format key, or undefined if the blob is not one. */
function blobType(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len === 0 || 4 + len > blob.length) return undefined;
  const type = blob.toString("latin1", 4, 4 + len);
  return /^[\x21-\x7e]+$/.test(type) ? type : undefined;
}

/** Bytes of a strict base64 field, or undefined (Buffer.from alone would skip bad characters). */
function decodeBase64(text: string): Buffer | undefined {
  return BASE64.test(text) && text.length % 4 === 0 ? Buffer.from(text, "base64") : undefined;
}

/** Salt and HMAC of a hashed name `|1|salt|hash`, or undefined when it is not a valid one. */
function parseHashed(pattern: string): { salt: Buffer; hash: Buffer } | undefined {
  const parts = pattern.slice(HASH_MAGIC.length).split("|");
  if (!pattern.startsWith(HASH_MAGIC) || parts.length !== 2) return undefined;
  const salt = decodeBase64(parts[0] ?? "");
  const hash = decodeBase64(parts[1] ?? "");
  return salt?.length === SHA1_BYTES && hash?.length === SHA1_BYTES ? { salt, hash } : undefined;
}

/** Every valid entry of a known_hosts file; comments, blank and malformed lines are skipped. */
export function parseKnownHosts(text: string, file?: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const fields = (lines[i] ?? "").trim().split(/[ \t]+/);
    if (fields[0] === undefined || fields[0] === "" || fields[0].startsWith("#")) continue;
    let marker: KnownHostEntry["marker"];
    if (fields[0].startsWith("@")) {
      // An unknown marker makes ssh ignore the line, so it must not count as a plain entry.
      if (fields[0] !== "@cert-authority" && fields[0] !== "@revoked") continue;
      marker = fields[0] === "@revoked" ? "revoked" : "cert-authority";
      fields.shift();
    }
    const [hosts, type, b64, ...rest] = fields;
    if (hosts === undefined || type === undefined || b64 === undefined) continue;
    const key = decodeBase64(b64);
    // The type field must agree with the blob, as in ssh's sshkey_read; SSH-1 lines fail here.
    if (key === undefined || blobType(key) !== type) continue;
    if (hosts.split(",").some((p) => p === "" || (p.startsWith("|") && parseHashed(p) === undefined))) continue;
    const entry: KnownHostEntry =
      file === undefined ? { line: i + 1, hosts, keyType: type, key } : { file, line: i + 1, hosts, keyType: type, key };
    if (marker) entry.marker = marker;
    if (rest.length > 0) entry.comment = rest.join(" ");
    entries.push(entry);
  }
  return entries;
}

/** `host` for port 22, else `[host]:port`: the name known_hosts stores a host under. */
export function hostPattern(host: string, port: number): string {
  // ssh lowercases the host before every lookup and before writing it.
  const h = host.toLowerCase();
  return port === 22 || port === 0 ? h : `[${h}]:${port}`;
}

/** True when `text` matches an OpenSSH pattern: `*` any run, `?` exactly one character, case-sensitive. */
export function globMatch(text: string, pattern: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === "*" ? ".*" : c === "?" ? "." : `\\${c}`));
  return new RegExp(`^${source}$`, "s").test(text);
}

/** True when a host-pattern field matches `name`; a matching `!pattern` vetoes the whole field. */
function hostsMatch(hosts: string, name: string): boolean {
  let positive = false;
  for (const pattern of hosts.split(",")) {
    if (pattern.startsWith("|")) {
      const hashed = parseHashed(pattern);
      if (hashed && createHmac("sha1", hashed.salt).update(name).digest().equals(hashed.hash)) positive = true;
    } else if (pattern.startsWith("!")) {
      if (globMatch(name, pattern.slice(1).toLowerCase())) return false;
    } else if (globMatch(name, pattern.toLowerCase())) {
      positive = true;
    }
  }
  return positive;
}

/** The entries (any marker) whose host patterns match host:port, in file order. */
export function entriesFor(entries: readonly KnownHostEntry[], host: string, port: number): KnownHostEntry[] {
  const name = hostPattern(host, port);
  return entries.filter((e) => hostsMatch(e.hosts, name));
}

/** The type string inside a wire-format public key, e.g. ssh-ed25519. */
export function keyType(keyBlob: Buffer): string {
  const type = blobType(keyBlob);
  if (type === undefined) throw new ExecError("the server sent a host key that is not an SSH public key; refusing to connect");
  return type;
}

/** `SHA256:` and the unpadded base64 SHA-256 of the key, exactly as `ssh-keygen -lf` prints it. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

/**
 * How known_hosts judges `keyBlob` for host:port: revoked > known > changed >
 * unknown. As in OpenSSH's hostfile.c, any other key recorded for the host
 * means "changed", whatever its type: ssh asks for the types it knows first
 * (orderHostKeyAlgorithms), so a host that shows a key of another type has
 * lost the one it had.
 */
export function checkHostKey(entries: readonly KnownHostEntry[], host: string, port: number, keyBlob: Buffer): HostKeyCheck {
  const type = keyType(keyBlob);
  const matching = entriesFor(entries, host, port);
  if (matching.some((e) => e.marker === "revoked" && e.key.equals(keyBlob))) return { status: "revoked" };
  const plain = matching.filter((e) => e.marker === undefined);
  if (plain.some((e) => e.key.equals(keyBlob))) return { status: "known" };
  // The entry to name: one of the same type (that key was replaced) if there is one.
  const changed = plain.find((e) => e.keyType === type) ?? plain[0];
  return changed === undefined ? { status: "unknown" } : { status: "changed", entry: changed };
}

/** The key type a host key algorithm signs with: the RSA signature algorithms all use ssh-rsa keys. */
export function algorithmKeyType(algorithm: string): string {
  return algorithm === "rsa-sha2-256" || algorithm === "rsa-sha2-512" ? "ssh-rsa" : algorithm;
}

/**
 * Host key algorithms with those whose key type known_hosts holds for the
 * host first, each group keeping its order, as OpenSSH's order_hostkeyalgs:
 * a host known by its ECDSA key is asked for that key, not a newer ed25519 one.
 */
export function orderHostKeyAlgorithms(algorithms: readonly string[], knownTypes: ReadonlySet<string>): string[] {
  const known = algorithms.filter((a) => knownTypes.has(algorithmKeyType(a)));
  return [...known, ...algorithms.filter((a) => !known.includes(a))];
}

/** The plain line that records host:port's key, or a hashed one (HashKnownHosts) with `salt` (20 random bytes); newline included. */
export function knownHostsLine(host: string, port: number, keyBlob: Buffer, salt?: Buffer): string {
  let name = hostPattern(host, port);
  if (salt !== undefined) name = `${HASH_MAGIC}${salt.toString("base64")}|${createHmac("sha1", salt).update(name).digest("base64")}`;
  return `${name} ${keyType(keyBlob)} ${keyBlob.toString("base64")}\n`;
}

/** What to append to a file that now holds `current` to add `line`: a newline first when its last line has none. */
export function appendText(current: string, line: string): string {
  return current === "" || current.endsWith("\n") ? line : `\n${line}`;
}
