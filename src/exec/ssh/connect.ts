/**
 * Opening the connection the way ssh does: straight to host:port, through a
 * ProxyCommand's stdin/stdout, or through ProxyJump hops (each hop a
 * connection tunnelled through the one before, all in this process); and
 * local port forwarding over it.
 *
 * As in ssh, where `ProxyJump a,b` means `ssh -J a -W %h:%p b`: the first
 * hop is reached however its own config says (its own ProxyJump or
 * ProxyCommand), the later hops and the target only through the hop before.
 */
import { createServer, type Server, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { NodeSSH } from "node-ssh";
import { ExecError, ProfileError } from "../../core/errors.js";
import type { Forward } from "../executor.js";
import type { Prompter } from "../prompt.js";
import { authHandler } from "./auth.js";
import { type HostKeyVerdict, hostKeyAlgorithms, readKnownHosts, verifyHostKey } from "./hostKeys.js";
import { type ProxyProcess, startProxyCommand } from "./proxyCommand.js";
import type { SshTarget } from "./settings.js";

/** What a connection needs from the command: how to ask, what to accept, where to tell. */
export interface ConnectOptions {
  /** The laptop's environment (SSH_AUTH_SOCK; the ProxyCommand's environment). */
  env: Record<string, string | undefined>;
  prompter: Prompter;
  /** --accept-new-host. */
  acceptNewHost: boolean;
  /** The local account's home: ssh creates ~/.ssh there to record a new host. */
  home: string;
  /** A line for the user (a host key added). */
  note: (text: string) => void;
}

/** An open connection to the last leg, and how to close it and everything under it. */
export interface Connection {
  ssh: NodeSSH;
  close(): void;
}

// A ProxyJump chain longer than this is a loop in ~/.ssh/config.
const MAX_HOPS = 8;

/** `alice@host:port (alias)`, for messages. */
export function describeTarget(t: SshTarget): string {
  return `${t.user}@${t.host}${t.port === 22 ? "" : `:${t.port}`}${t.alias !== t.host ? ` (${t.alias})` : ""}`;
}

/** The connections to make, first to last, to reach `t`: the first hop's own route, the later hops, then `t`. */
export async function route(t: SshTarget, resolveHop: (hop: string) => Promise<SshTarget>, depth = 0): Promise<SshTarget[]> {
  if (t.proxyJump.length === 0) return [t];
  if (depth >= MAX_HOPS) {
    throw new ProfileError(`ProxyJump for ${t.alias} leads through more than ${MAX_HOPS} jump hosts (a loop?); check ~/.ssh/config`);
  }
  const hops = await Promise.all(t.proxyJump.map(resolveHop));
  const [first, ...rest] = hops as [SshTarget, ...SshTarget[]];
  return [...(await route(first, resolveHop, depth + 1)), ...rest, t];
}

/** Connect through every leg of `legs` (from route) and return the last connection. */
export async function connect(legs: readonly SshTarget[], opts: ConnectOptions): Promise<Connection> {
  const opened: NodeSSH[] = [];
  const first = legs[0] as SshTarget;
  const proxy = first.proxyCommand === undefined ? undefined : startProxyCommand(first.proxyCommand, opts.env);
  const close = () => {
    for (const ssh of opened.splice(0).reverse()) ssh.dispose();
    proxy?.kill();
  };
  try {
    let sock: Duplex | undefined = proxy?.socket;
    for (let i = 0; i < legs.length; i++) {
      const leg = legs[i] as SshTarget;
      opened.push(await connectOne(leg, sock, i === 0 ? proxy : undefined, opts));
      const next = legs[i + 1];
      if (next) sock = await tunnelTo(opened[i] as NodeSSH, next, leg);
    }
    return { ssh: opened[opened.length - 1] as NodeSSH, close };
  } catch (e) {
    close();
    throw e;
  }
}

/** A channel from `via` to the next leg's host:port, as the socket of the next connection. */
async function tunnelTo(via: NodeSSH, next: SshTarget, hop: SshTarget): Promise<Duplex> {
  try {
    return (await via.forwardOut("127.0.0.1", 0, next.host, next.port)) as unknown as Duplex;
  } catch (e) {
    throw new ExecError(`the jump host ${describeTarget(hop)} could not reach ${next.host}:${next.port}: ${(e as Error).message}`);
  }
}

/**
 * A TCP connection to `t` without Nagle's algorithm, as OpenSSH's own.
 * ssh2 writes each packet's length, body and MAC apart: with Nagle, the body
 * of every request waited for the server to acknowledge the length, which it
 * does late (40 ms on Linux), so each round trip took 40 ms even to localhost.
 */
function tcpTo(t: SshTarget): Socket {
  const socket = new Socket();
  socket.setNoDelay(true);
  return socket.connect({ host: t.host, port: t.port });
}

/** One SSH connection to `t` (over `sock` when it comes through a hop or a ProxyCommand). */
async function connectOne(t: SshTarget, sock: Duplex | undefined, proxy: ProxyProcess | undefined, opts: ConnectOptions): Promise<NodeSSH> {
  const entries = readKnownHosts(t);
  const algorithms = hostKeyAlgorithms(t, entries);
  if (algorithms.length === 0) {
    throw new ProfileError(
      `HostKeyAlgorithms for ${t.alias} (${(t.hostKeyAlgorithms ?? []).join(",")}) allows no algorithm hpcjob can check; add ssh-ed25519, ecdsa-sha2-nistp256 or rsa-sha2-512 in ~/.ssh/config`,
    );
  }
  const ssh = new NodeSSH();
  // Set by the host key check during connect; read after a failure to say why.
  const seen: { verdict: HostKeyVerdict } = { verdict: { ok: true } };
  const tried: string[] = [];
  try {
    await ssh.connect({
      host: t.host,
      port: t.port,
      username: t.user,
      sock: (sock ?? tcpTo(t)) as never,
      readyTimeout: 30_000,
      keepaliveInterval: 15_000,
      algorithms: { serverHostKey: algorithms as never },
      hostVerifier: (key: Buffer) => {
        seen.verdict = verifyHostKey(t, key, entries, opts);
        return seen.verdict.ok;
      },
      authHandler: authHandler(t, opts.env.SSH_AUTH_SOCK, opts.prompter, tried),
    });
    if (seen.verdict.ok && seen.verdict.note) opts.note(seen.verdict.note);
    return ssh;
  } catch (e) {
    ssh.dispose();
    if (!seen.verdict.ok) throw new ExecError(seen.verdict.message);
    const why = (e as Error).message;
    if (/authentication methods failed/i.test(why)) {
      throw new ExecError(
        `ssh ${describeTarget(t)}: no key or answer was accepted (tried: ${tried.join(", ") || "nothing"}); check that ssh ${t.alias} works`,
      );
    }
    if (proxy) {
      const said = await proxy.stderr(1000);
      throw new ExecError(`could not connect to ${describeTarget(t)} through its ProxyCommand (${t.proxyCommand}): ${why}`, said);
    }
    throw new ExecError(`could not connect to ${describeTarget(t)}: ${why}`);
  }
}

/** Listen on 127.0.0.1:`localPort` (or a free port if taken) and forward each connection to host:port through `ssh`. */
export async function forwardPort(ssh: NodeSSH, localPort: number, host: string, port: number): Promise<Forward & { server: Server }> {
  const server = createServer((socket) => {
    ssh
      .forwardOut("127.0.0.1", socket.localPort ?? 0, host, port)
      .then((channel) => {
        socket.pipe(channel).pipe(socket);
        socket.on("error", () => channel.close());
        channel.on("error", () => socket.destroy());
      })
      .catch(() => socket.destroy());
  });
  const listen = (p: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(p, "127.0.0.1", () => {
        server.off("error", reject);
        resolve((server.address() as { port: number }).port);
      });
    });
  const bound = await listen(localPort).catch((e: NodeJS.ErrnoException) => (e.code === "EADDRINUSE" ? listen(0) : Promise.reject(e)));
  return { port: bound, server, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
