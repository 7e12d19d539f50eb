/**
 * The SSH Executor: hpcjob runs on a laptop and reaches the cluster's login
 * node the way the user's own `ssh` would: ~/.ssh/config (HostName, User,
 * Port, IdentityFile, IdentitiesOnly, ProxyJump), keys from ssh-agent and
 * identity files (passphrases asked on the terminal), keyboard-interactive
 * two-factor prompts, and host keys checked against ~/.ssh/known_hosts.
 * One connection per command, opened on first use, reused for every call.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join, posix } from "node:path";
import { NodeSSH } from "node-ssh";
import { type AnyAuthMethod, type AuthHandlerMiddleware, type SFTPWrapper, utils } from "ssh2";
import { ExecError } from "../errors.js";
import { quote } from "../render/quote.js";
import type { Executor, FileStat, RunResult } from "./executor.js";
import { checkHostKey, fingerprint, hostPattern, keyType, knownHostsLine, parseKnownHosts } from "./knownHosts.js";
import type { Prompter } from "./prompt.js";
import { DEFAULT_IDENTITY_FILES, expandHome, resolveTarget, type SshTarget } from "./sshConfig.js";

/** How to reach the login node, and how to treat what is found there. */
export interface SshOptions {
  /** `host`, `user@host[:port]` or a ~/.ssh/config alias. */
  destination: string;
  /** The profile's login user and port, used when neither the destination nor ~/.ssh/config says. */
  defaultUser?: string;
  defaultPort?: number;
  /** The laptop's home (for ~/.ssh) and environment (SSH_AUTH_SOCK, USER). */
  home: string;
  env: Record<string, string | undefined>;
  prompter: Prompter;
  /** Add an unknown host's key to known_hosts (like StrictHostKeyChecking=accept-new). */
  acceptNewHost: boolean;
}

/** A local port forwarded to host:port on the far side of the connection. */
export interface Forward {
  port: number;
  close(): Promise<void>;
}

/** Why a host key was refused, for the error message. */
type HostKeyVerdict = { ok: true } | { ok: false; message: string };

/** Reads ~/.ssh/config, or undefined when there is none. */
function sshConfigText(home: string): string | undefined {
  const file = join(home, ".ssh", "config");
  return existsSync(file) ? readFileSync(file, "utf8") : undefined;
}

/** An Executor on the login node over one SSH connection. */
export class SshExecutor implements Executor {
  readonly kind = "ssh";
  private connecting?: Promise<NodeSSH>;
  private readonly hops: NodeSSH[] = [];
  private sftpSession?: Promise<SFTPWrapper>;
  private readonly servers: Server[] = [];
  private homeDir?: string;
  private readonly target: SshTarget;

  constructor(private readonly opts: SshOptions) {
    this.target = this.resolve(opts.destination, opts.defaultUser, opts.defaultPort);
  }

  /** Where a destination leads after ~/.ssh/config. */
  private resolve(destination: string, defaultUser?: string, defaultPort?: number): SshTarget {
    return resolveTarget(destination, {
      configText: sshConfigText(this.opts.home),
      home: this.opts.home,
      localUser: this.opts.env.USER ?? "user",
      defaultUser,
      defaultPort,
    });
  }

  /** `alice@host:port`, for messages. */
  describe(t: SshTarget = this.target): string {
    return `${t.user ?? this.opts.env.USER ?? ""}@${t.host}${t.port === 22 ? "" : `:${t.port}`}${t.alias !== t.host ? ` (${t.alias})` : ""}`;
  }

  /** The connection, opened on first use (through every ProxyJump hop). */
  private connection(): Promise<NodeSSH> {
    this.connecting ??= this.open().catch((e) => {
      this.connecting = undefined;
      throw e;
    });
    return this.connecting;
  }

  private async open(): Promise<NodeSSH> {
    // ProxyJump a,b: connect to a, tunnel through it to b, connect to b over
    // that tunnel, tunnel through b to the target, connect to the target.
    const chain = [...this.target.proxyJump.map((hop) => this.resolve(hop)), this.target];
    let sock: NodeJS.ReadableStream | undefined;
    for (let i = 0; i < chain.length - 1; i++) {
      const hop = chain[i] as SshTarget;
      const next = chain[i + 1] as SshTarget;
      const ssh = await this.connectOne(hop, sock);
      this.hops.push(ssh);
      sock = await this.tunnelTo(ssh, next.host, next.port, hop);
    }
    return this.connectOne(this.target, sock);
  }

  /** A channel from `via` to host:port, as the socket of the next connection. */
  private async tunnelTo(via: NodeSSH, host: string, port: number, hop: SshTarget): Promise<NodeJS.ReadableStream> {
    try {
      return (await via.forwardOut("127.0.0.1", 0, host, port)) as unknown as NodeJS.ReadableStream;
    } catch (e) {
      throw new ExecError(`the jump host ${this.describe(hop)} could not reach ${host}:${port}: ${(e as Error).message}`);
    }
  }

  /** Check a host key against known_hosts; maybe learn it (accept-new). */
  private verifyHostKey(t: SshTarget, key: Buffer): HostKeyVerdict {
    const name = t.hostKeyAlias ?? t.host;
    // OpenSSH keeps a HostKeyAlias's key under the alias as written, never as [alias]:port.
    const port = t.hostKeyAlias ? 22 : t.port;
    const file = join(this.opts.home, ".ssh", "known_hosts");
    const text = existsSync(file) ? readFileSync(file, "utf8") : "";
    const check = checkHostKey(parseKnownHosts(text), name, port, key);
    const where = hostPattern(name, port);
    const fp = `${keyType(key)} ${fingerprint(key)}`;
    switch (check.status) {
      case "known":
        return { ok: true };
      case "revoked":
        return { ok: false, message: `the host key of ${where} (${fp}) is marked @revoked in ${file}; refusing to connect` };
      case "changed":
        return {
          ok: false,
          message: `WARNING: the host key of ${where} has CHANGED (now ${fp}; ${file} line ${check.line} has another). Someone may be intercepting the connection, or the host was reinstalled: ask the cluster's administrators, and only then remove the old key with: ssh-keygen -R '${where}'`,
        };
      case "unknown":
        if (this.opts.acceptNewHost) {
          mkdirSync(join(this.opts.home, ".ssh"), { recursive: true, mode: 0o700 });
          appendFileSync(file, knownHostsLine(name, port, key), { mode: 0o600 });
          return { ok: true };
        }
        return {
          ok: false,
          message: `the host ${where} is not in ${file}; its key is ${fp}. If that is the key your cluster publishes, accept it with --accept-new-host (or connect once with ssh ${t.alias} and answer yes)`,
        };
      default:
        return { ok: false, message: `the host key of ${where} could not be checked` };
    }
  }

  /** The authentication methods to try, in order: agent, identity files, keyboard-interactive. */
  private authHandler(t: SshTarget, tried: string[]): AuthHandlerMiddleware {
    const username = t.user ?? this.opts.env.USER ?? "user";
    const agent = this.opts.env.SSH_AUTH_SOCK;
    const files = (t.identityFiles.length ? t.identityFiles : DEFAULT_IDENTITY_FILES.map((f) => expandHome(f, this.opts.home))).filter(
      (f) => existsSync(f),
    );
    const steps: (() => Promise<AnyAuthMethod | undefined>)[] = [];
    if (agent && !t.identitiesOnly) {
      steps.push(async () => {
        tried.push("ssh-agent");
        return { type: "agent", username, agent } as AnyAuthMethod;
      });
    }
    for (const file of files) {
      steps.push(async () => {
        const key = readFileSync(file);
        const parsed = utils.parseKey(key);
        if (!(parsed instanceof Error)) {
          tried.push(file);
          return { type: "publickey", username, key } as AnyAuthMethod;
        }
        if (!/passphrase/i.test(parsed.message)) {
          tried.push(`${file} (unreadable: ${parsed.message})`);
          return undefined;
        }
        if (!this.opts.prompter.available) {
          tried.push(`${file} (needs a passphrase; no terminal to ask: add it to ssh-agent)`);
          return undefined;
        }
        const passphrase = await this.opts.prompter.ask(`Passphrase for ${file}: `, true);
        if (utils.parseKey(key, passphrase) instanceof Error) {
          tried.push(`${file} (wrong passphrase)`);
          return undefined;
        }
        tried.push(file);
        return { type: "publickey", username, key, passphrase } as AnyAuthMethod;
      });
    }
    steps.push(async () => {
      if (!this.opts.prompter.available) return undefined;
      tried.push("keyboard-interactive");
      let asked = false;
      return {
        type: "keyboard-interactive",
        username,
        prompt: (
          _name: string,
          instructions: string,
          _lang: string,
          prompts: { prompt: string; echo?: boolean }[],
          finish: (r: string[]) => void,
        ) => {
          // Answered once: a second round (a wrong code) ends the attempt instead of asking forever.
          if (asked && prompts.length > 0) return finish([]);
          asked = true;
          void (async () => {
            const answers: string[] = [];
            for (const p of prompts)
              answers.push(await this.opts.prompter.ask(`${instructions ? `${instructions}\n` : ""}${p.prompt}`, !p.echo));
            finish(answers);
          })();
        },
      } as AnyAuthMethod;
    });
    return (_methodsLeft, _partial, next) => {
      void (async () => {
        for (let step = steps.shift(); step; step = steps.shift()) {
          const method = await step().catch((e) => {
            tried.push(`(error: ${(e as Error).message})`);
            return undefined;
          });
          if (method) return next(method);
        }
        next(false as unknown as AnyAuthMethod);
      })();
    };
  }

  /** One SSH connection to `t` (over `sock` when it is a later hop). */
  private async connectOne(t: SshTarget, sock?: NodeJS.ReadableStream): Promise<NodeSSH> {
    const ssh = new NodeSSH();
    // Set by the host key check during connect; read after a failure to say why.
    const seen: { verdict: HostKeyVerdict } = { verdict: { ok: true } };
    const tried: string[] = [];
    try {
      await ssh.connect({
        host: t.host,
        port: t.port,
        username: t.user ?? this.opts.env.USER,
        sock: sock as never,
        readyTimeout: 30_000,
        keepaliveInterval: 15_000,
        hostVerifier: (key: Buffer) => {
          seen.verdict = this.verifyHostKey(t, key);
          return seen.verdict.ok;
        },
        authHandler: this.authHandler(t, tried),
      });
      return ssh;
    } catch (e) {
      ssh.dispose();
      if (!seen.verdict.ok) throw new ExecError(seen.verdict.message);
      const why = (e as Error).message;
      if (/authentication methods failed/i.test(why)) {
        throw new ExecError(
          `ssh ${this.describe(t)}: no key or answer was accepted (tried: ${tried.join(", ") || "nothing"}); check that ssh ${t.alias} works`,
        );
      }
      throw new ExecError(`could not connect to ${this.describe(t)}: ${why}`);
    }
  }

  /** Run argv on the login node; each word quoted for the remote shell. */
  async run(argv: readonly string[]): Promise<RunResult> {
    const ssh = await this.connection();
    const r = await ssh.execCommand(argv.map((a) => quote(a)).join(" "), { noTrim: true });
    return { code: r.code ?? (r.signal ? 128 : 1), stdout: r.stdout, stderr: r.stderr };
  }

  private sftp(): Promise<SFTPWrapper> {
    this.sftpSession ??= this.connection().then((ssh) => ssh.requestSFTP());
    return this.sftpSession;
  }

  /** A file's text, or undefined when it does not exist. */
  async readFile(path: string): Promise<string | undefined> {
    const buf = await this.readFrom(path, 0);
    return buf?.toString("utf8");
  }

  /** Bytes of a remote file from `offset` on. */
  async readFrom(path: string, offset: number): Promise<Buffer | undefined> {
    const sftp = await this.sftp();
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const stream = sftp.createReadStream(path, { start: offset });
      stream.on("data", (d: Buffer) => chunks.push(d));
      stream.on("error", (e: Error & { code?: number }) =>
        e.code === 2 ? resolve(undefined) : reject(new ExecError(`could not read ${path} on the cluster: ${e.message}`)),
      );
      stream.on("end", () => resolve(Buffer.concat(chunks)));
    });
  }

  /** Write a remote file with `mode`. */
  async writeFile(path: string, data: string | Buffer, mode: number): Promise<void> {
    const sftp = await this.sftp();
    await new Promise<void>((resolve, reject) => sftp.writeFile(path, data, { mode }, (e) => (e ? reject(e) : resolve())));
    await new Promise<void>((resolve, reject) => sftp.chmod(path, mode, (e) => (e ? reject(e) : resolve())));
  }

  /** Create a remote folder and its missing parents, each with `mode`; existing folders are left as they are. */
  async mkdir(path: string, mode: number): Promise<void> {
    const parts = posix.normalize(path).split("/").filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const dir = `/${parts.slice(0, i).join("/")}`;
      if (!(await this.stat(dir))) await this.createDir(dir, mode);
    }
  }

  /** Create one new remote folder with `mode`; false when it exists (SFTP's mkdir fails then). */
  async createDir(path: string, mode: number): Promise<boolean> {
    const sftp = await this.sftp();
    const made = await new Promise<Error | undefined>((resolve) => sftp.mkdir(path, { mode }, (e) => resolve(e ?? undefined)));
    if (made) {
      // SFTP says only "Failure": whether the folder is there tells EEXIST from the rest.
      if (await this.stat(path)) return false;
      throw new ExecError(`could not create ${path} on the cluster: ${made.message}`);
    }
    // The server's umask applies to mkdir; the mode asked for is set exactly.
    await new Promise<void>((resolve, reject) => sftp.chmod(path, mode, (e) => (e ? reject(e) : resolve())));
    return true;
  }

  /** Facts about a remote path. */
  async stat(path: string): Promise<FileStat | undefined> {
    const sftp = await this.sftp();
    return new Promise((resolve, reject) =>
      sftp.stat(path, (e, s) => {
        if (e) return (e as Error & { code?: number }).code === 2 ? resolve(undefined) : reject(e);
        resolve({ mode: s.mode & 0o7777, size: s.size, mtimeMs: s.mtime * 1000 });
      }),
    );
  }

  /** Names in a remote folder. */
  async list(dir: string): Promise<string[]> {
    const sftp = await this.sftp();
    return new Promise((resolve, reject) =>
      sftp.readdir(dir, (e, list) => {
        if (e) return (e as Error & { code?: number }).code === 2 ? resolve([]) : reject(e);
        resolve(list.map((f) => f.filename));
      }),
    );
  }

  /** The remote home (where SFTP starts). */
  async home(): Promise<string> {
    if (this.homeDir === undefined) {
      const sftp = await this.sftp();
      this.homeDir = await new Promise<string>((resolve, reject) => sftp.realpath(".", (e, p) => (e ? reject(e) : resolve(p))));
    }
    return this.homeDir;
  }

  /** The remote user name. */
  async user(): Promise<string> {
    return this.target.user ?? this.opts.env.USER ?? "user";
  }

  /** Listen on 127.0.0.1:`localPort` (or a free port if taken) and forward each connection to host:port. */
  async forward(localPort: number, host: string, port: number): Promise<Forward> {
    const ssh = await this.connection();
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
    this.servers.push(server);
    return { port: bound, close: () => new Promise((resolve) => server.close(() => resolve())) };
  }

  /** Close forwards, SFTP, the connection and every hop. */
  async dispose(): Promise<void> {
    for (const s of this.servers.splice(0)) s.close();
    const ssh = await this.connecting?.catch(() => undefined);
    ssh?.dispose();
    for (const hop of this.hops.splice(0).reverse()) hop.dispose();
    this.connecting = undefined;
    this.sftpSession = undefined;
  }
}
