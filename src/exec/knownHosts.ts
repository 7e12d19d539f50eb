/**
 * OpenSSH known_hosts files (sshd(8), SSH_KNOWN_HOSTS FILE FORMAT): parsing,
 * looking a host up the way ssh does, and the line to add for a new host.
 * Pure: the caller reads and appends the file and gets the key from the
 * connection (ssh2's hostVerifier hands over the raw wire-format key).
 *
 * Not supported, as hpcjob never needs them: host certificates (a
 * @cert-authority line is kept but never vouches for a plain host key),
 * CheckHostIP (the address is not looked up separately) and the SSH-1
 * `bits exponent modulus` lines (skipped like any malformed line).
 */
import { createHash, createHmac } from "node:crypto";
import { ExecError } from "../errors.js";

/** One usable line of a known_hosts file. */
export interface KnownHostEntry {
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
export type HostKeyCheck = { status: "known" } | { status: "unknown" } | { status: "changed"; line: number } | { status: "revoked" };

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
export function parseKnownHosts(text: string): KnownHostEntry[] {
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
    const entry: KnownHostEntry = { line: i + 1, hosts, keyType: type, key };
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

/** How known_hosts judges `keyBlob` for host:port: revoked > known > changed (same key type) > unknown. */
export function checkHostKey(entries: readonly KnownHostEntry[], host: string, port: number, keyBlob: Buffer): HostKeyCheck {
  const type = keyType(keyBlob);
  const matching = entriesFor(entries, host, port);
  if (matching.some((e) => e.marker === "revoked" && e.key.equals(keyBlob))) return { status: "revoked" };
  let changed: number | undefined;
  for (const e of matching) {
    if (e.marker !== undefined) continue;
    if (e.key.equals(keyBlob)) return { status: "known" };
    // Only a different key of the same type means "changed": ssh treats a
    // host known by other key types only as new (it offers those types first).
    if (e.keyType === type) changed ??= e.line;
  }
  return changed === undefined ? { status: "unknown" } : { status: "changed", line: changed };
}

/** The plain (unhashed) line that records host:port's key, newline included. */
export function knownHostsLine(host: string, port: number, keyBlob: Buffer): string {
  return `${hostPattern(host, port)} ${keyType(keyBlob)} ${keyBlob.toString("base64")}\n`;
}
