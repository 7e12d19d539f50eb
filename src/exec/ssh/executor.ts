/**
 * The SSH Executor: hpcjob runs on a laptop and reaches the cluster's login
 * node the way the user's own `ssh` would (target.ts: where it goes;
 * connect.ts: jump hosts, ProxyCommand, forwarding; hostKeys.ts: known_hosts;
 * auth.ts: keys and prompts), and works with files over SFTP or, where the
 * server has none, plain commands (files.ts). One connection per command,
 * opened on first use, reused for every call.
 */
import type { Server } from "node:net";
import type { Readable } from "node:stream";
import type { NodeSSH } from "node-ssh";
import { ExecError } from "../../core/errors.js";
import type { Reporter } from "../../core/events.js";
import type { LoginTarget } from "../../core/login.js";
import { quote } from "../../core/quote.js";
import type { Executor, FileStat, Forward, RunResult } from "../executor.js";
import type { Prompter } from "../prompt.js";
import { ChannelGate, type ChannelResult, execute } from "./channel.js";
import { type Connection, connect, forwardPort, route } from "./connect.js";
import { parseDestination } from "./destination.js";
import type { RemoteFiles, Runner } from "./remoteFiles.js";
import { type LocalAccount, localAccount } from "./settings.js";
import { SftpFiles } from "./sftpFiles.js";
import { ShellFiles } from "./shellFiles.js";
import { type Resolved, resolveTarget } from "./target.js";

/** How to reach the login node, and how to treat what is found there. */
export interface SshOptions {
  /** `host`, `user@host[:port]` or a ~/.ssh/config alias. */
  destination: string;
  /** The profile's login user and port, used when neither the destination nor ~/.ssh/config says. */
  defaultUser?: string;
  defaultPort?: number;
  /** $HOME: where hpcjob reads ~/.ssh/config itself when ssh is not installed. */
  home: string;
  /** The laptop's environment (PATH to find ssh, SSH_AUTH_SOCK). */
  env: Record<string, string | undefined>;
  prompter: Prompter;
  /** Add an unknown host's key to known_hosts (like StrictHostKeyChecking=accept-new). */
  acceptNewHost: boolean;
  /** Where notes for the user go: ~/.ssh/config settings not followed, a host key added. */
  report: Reporter;
}

/** SFTP when the server offers it, else plain commands through `run` on the same connection. */
async function openFiles(ssh: NodeSSH, run: Runner): Promise<RemoteFiles> {
  try {
    return new SftpFiles(await ssh.requestSFTP());
  } catch (e) {
    const why = (e as Error).message;
    // OpenSSH without a `Subsystem sftp` line: ssh2 says "Unable to start subsystem: sftp".
    if (/subsystem/i.test(why)) return new ShellFiles(run);
    throw new ExecError(`could not open a file session (SFTP) on the cluster: ${why}`);
  }
}

/** The one line that names what ~/.ssh/config says but hpcjob did not follow. */
function ignoredNote(ignored: readonly string[], by: Resolved["by"]): string {
  const list = ignored.join("; ");
  return by === "hpcjob"
    ? `ssh is not installed here, so hpcjob read ~/.ssh/config itself and ignored: ${list} (install OpenSSH's ssh client to have them followed)`
    : `hpcjob did not follow from ~/.ssh/config: ${list}`;
}

/** An Executor on the login node over one SSH connection. */
export class SshExecutor implements Executor {
  readonly remote = true;
  private account?: LocalAccount;
  private resolving?: Promise<Resolved>;
  private connecting?: Promise<Connection>;
  private opening?: Promise<RemoteFiles>;
  private readonly servers: Server[] = [];
  private homeDir?: string;
  // OpenSSH's default MaxSessions is 10 and an SFTP session takes one: 8 leaves room.
  private readonly channels = new ChannelGate(8);

  constructor(private readonly opts: SshOptions) {}

  /** Where a destination (the login node, or a ProxyJump hop) goes; hops get no profile defaults. */
  private resolve(destination: string, withDefaults: boolean): Promise<Resolved> {
    this.account ??= localAccount(this.opts.env);
    return resolveTarget(destination, {
      env: this.opts.env,
      home: this.opts.home,
      account: this.account,
      ...(withDefaults ? { defaultUser: this.opts.defaultUser, defaultPort: this.opts.defaultPort } : {}),
    });
  }

  /** The login node's target, resolved once. */
  private target(): Promise<Resolved> {
    this.resolving ??= this.resolve(this.opts.destination, true);
    return this.resolving;
  }

  /** The connection, opened on first use (through every hop or ProxyCommand). */
  private connection(): Promise<Connection> {
    this.connecting ??= this.open().catch((e) => {
      this.connecting = undefined;
      throw e;
    });
    return this.connecting;
  }

  private async open(): Promise<Connection> {
    const main = await this.target();
    const resolved: Resolved[] = [main];
    const legs = await route(main.target, async (hop) => {
      const r = await this.resolve(hop, false);
      resolved.push(r);
      return r.target;
    });
    const ignored = [...new Set(resolved.flatMap((r) => r.target.ignored ?? []))];
    // Once per command: every hop's settings are known before the first connection.
    if (ignored.length > 0) this.opts.report({ kind: "note", text: ignoredNote(ignored, main.by) });
    return connect(legs, {
      env: this.opts.env,
      prompter: this.opts.prompter,
      acceptNewHost: this.opts.acceptNewHost,
      // ssh's ~/.ssh is in the passwd home; hpcjob's own parser (no ssh) uses $HOME throughout.
      home: main.by === "ssh" ? (this.account as LocalAccount).home : this.opts.home,
      note: (text) => this.opts.report({ kind: "note", text }),
    });
  }

  /** Run argv on the login node, each word quoted for the remote shell. */
  private async exec(argv: readonly string[], stdin?: string | Buffer | Readable): Promise<ChannelResult> {
    const { ssh } = await this.connection();
    const client = ssh.connection as NonNullable<NodeSSH["connection"]>;
    return this.channels.through((opened) => execute(client, argv.map((a) => quote(a)).join(" "), stdin, opened));
  }

  /** SFTP or plain commands, decided on first use. */
  private files(): Promise<RemoteFiles> {
    this.opening ??= this.connection().then(({ ssh }) => openFiles(ssh, (argv, stdin) => this.exec(argv, stdin)));
    return this.opening;
  }

  /** Run argv on the login node; each word quoted for the remote shell. */
  async run(argv: readonly string[]): Promise<RunResult> {
    const r = await this.exec(argv);
    return { code: r.code, stdout: r.stdout.toString("utf8"), stderr: r.stderr };
  }

  /** Run argv on the login node with `input` streamed to its stdin over the same connection. */
  async runWithInput(argv: readonly string[], input: Readable): Promise<RunResult> {
    const r = await this.exec(argv, input);
    return { code: r.code, stdout: r.stdout.toString("utf8"), stderr: r.stderr };
  }

  /** A file's text, or undefined when it does not exist. */
  async readFile(path: string): Promise<string | undefined> {
    return (await this.readFrom(path, 0))?.toString("utf8");
  }

  /** Bytes of a remote file from `offset` on. */
  async readFrom(path: string, offset: number): Promise<Buffer | undefined> {
    return (await this.files()).readFrom(path, offset);
  }

  /** Write a remote file with `mode`. */
  async writeFile(path: string, data: string | Buffer, mode: number): Promise<void> {
    return (await this.files()).writeFile(path, data, mode);
  }

  /** Create a remote folder and its missing parents, each with `mode`; existing folders are left as they are. */
  async mkdir(path: string, mode: number): Promise<void> {
    return (await this.files()).mkdir(path, mode);
  }

  /** Create one new remote folder with `mode`; false when it exists. */
  async createDir(path: string, mode: number): Promise<boolean> {
    return (await this.files()).createDir(path, mode);
  }

  /** Facts about a remote path. */
  async stat(path: string): Promise<FileStat | undefined> {
    return (await this.files()).stat(path);
  }

  /** Names in a remote folder. */
  async list(dir: string): Promise<string[]> {
    return (await this.files()).list(dir);
  }

  /** The remote home (where a login starts). */
  async home(): Promise<string> {
    this.homeDir ??= await (await this.files()).home();
    return this.homeDir;
  }

  /** A job runs in the cluster home unless the user names a folder. */
  async defaultWorkdir(): Promise<string> {
    return this.home();
  }

  /**
   * The login node as the user's own ssh reaches it: the destination as typed
   * (an alias keeps meaning what ~/.ssh/config says), the user ssh worked out,
   * and a port only where the command must say it (given in the destination,
   * or the profile's and not what ~/.ssh/config chose).
   */
  async login(): Promise<LoginTarget> {
    const { target } = await this.target();
    const dest = parseDestination(this.opts.destination);
    const fromProfile = this.opts.defaultPort !== undefined && this.opts.defaultPort !== 22 && target.port === this.opts.defaultPort;
    const port = dest.port ?? (fromProfile ? target.port : undefined);
    return port === undefined ? { host: dest.host, user: target.user } : { host: dest.host, port, user: target.user };
  }

  /** Listen on 127.0.0.1:`localPort` (or a free port if taken) and forward each connection to host:port. */
  async forward(localPort: number, host: string, port: number): Promise<Forward> {
    const { ssh } = await this.connection();
    const f = await forwardPort(ssh, localPort, host, port);
    this.servers.push(f.server);
    return { port: f.port, close: f.close };
  }

  /** Close forwards, the file session, the connection, every hop and a ProxyCommand. */
  async dispose(): Promise<void> {
    for (const s of this.servers.splice(0)) s.close();
    const c = await this.connecting?.catch(() => undefined);
    c?.close();
    this.connecting = undefined;
    this.opening = undefined;
  }
}
