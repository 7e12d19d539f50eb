/**
 * The local Executor: hpcjob runs on the login node itself, so Slurm's
 * commands are local programs and the run directory is a local folder.
 */
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { chmod, mkdir, open, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { hostname, userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Readable } from "node:stream";
import { ExecError } from "../core/errors.js";
import type { LoginTarget } from "../core/login.js";
import type { Executor, FileStat, RunResult } from "./executor.js";

/** True for the "no such file" family of errors. */
function missing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** Where the local executor runs: this machine's environment, and how the user's computer reaches it. */
export interface LocalSetting {
  env: Record<string, string | undefined>;
  /** The home folder (run directories live under it); $HOME, else the account's. */
  home?: string;
  /** Where jobs run when the user names no folder. */
  cwd?: string;
  /** The login node's name as the user's computer reaches it (the profile's login.host), else this machine's name. */
  loginHost?: string;
  loginPort?: number;
}

/** An Executor for the machine hpcjob runs on. */
export class LocalExecutor implements Executor {
  readonly remote = false;
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly setting: LocalSetting) {
    this.env = setting.env as NodeJS.ProcessEnv;
  }

  /** Run argv without a shell; a program that cannot start is an ExecError. */
  run(argv: readonly string[]): Promise<RunResult> {
    return this.spawn(argv);
  }

  /** Run argv without a shell, `input` piped to its stdin. */
  runWithInput(argv: readonly string[], input: Readable): Promise<RunResult> {
    return this.spawn(argv, input);
  }

  private spawn(argv: readonly string[], input?: Readable): Promise<RunResult> {
    const [file, ...args] = argv;
    if (!file) return Promise.reject(new ExecError("nothing to run"));
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, { env: this.env, stdio: [input ? "pipe" : "ignore", "pipe", "pipe"] });
      const err: Buffer[] = [];
      if (input && child.stdin) {
        const stdin = child.stdin;
        // A program that stops reading early (EPIPE) says why in its exit status; a stream that fails ends its stdin.
        stdin.on("error", () => {});
        input.on("error", (e) => {
          err.push(Buffer.from(`hpcjob: the input stream failed: ${e.message}\n`));
          stdin.destroy();
        });
        input.pipe(stdin);
      }
      const out: Buffer[] = [];
      child.stdout?.on("data", (d: Buffer) => out.push(d));
      child.stderr?.on("data", (d: Buffer) => err.push(d));
      child.on("error", (e: NodeJS.ErrnoException) => {
        const why = e.code === "ENOENT" ? `${file} is not installed or not on PATH; run hpcjob on the cluster's login node` : e.message;
        reject(new ExecError(`could not run ${file}: ${why}`));
      });
      child.on("close", (code, signal) => {
        resolve({
          code: code ?? (signal ? 128 : 1),
          stdout: Buffer.concat(out).toString("utf8"),
          stderr: Buffer.concat(err).toString("utf8"),
        });
      });
    });
  }

  /** A file's text, or undefined when it does not exist. */
  async readFile(path: string): Promise<string | undefined> {
    try {
      return await readFile(path, "utf8");
    } catch (e) {
      if (missing(e)) return undefined;
      throw new ExecError(`could not read ${path}: ${(e as Error).message}`);
    }
  }

  /** Bytes of a file from `offset` on. */
  async readFrom(path: string, offset: number): Promise<Buffer | undefined> {
    let fh: Awaited<ReturnType<typeof open>> | undefined;
    try {
      fh = await open(path, "r");
      const { size } = await fh.stat();
      if (size <= offset) return Buffer.alloc(0);
      const buf = Buffer.alloc(size - offset);
      await fh.read(buf, 0, buf.length, offset);
      return buf;
    } catch (e) {
      if (missing(e)) return undefined;
      throw new ExecError(`could not read ${path}: ${(e as Error).message}`);
    } finally {
      await fh?.close();
    }
  }

  /** Write a file; the mode is set even when the file existed. */
  async writeFile(path: string, data: string | Buffer, mode: number): Promise<void> {
    await writeFile(path, data, { mode });
    await chmod(path, mode);
  }

  /** Create a folder and its missing parents, each with `mode`; existing folders are left as they are. */
  async mkdir(path: string, mode: number): Promise<void> {
    const missing: string[] = [];
    for (let dir = resolve(path); !(await this.stat(dir)); dir = dirname(dir)) {
      missing.unshift(dir);
      if (dir === dirname(dir)) break;
    }
    // A folder another process made meanwhile is fine: only its mode is not ours to set.
    for (const dir of missing) await this.createDir(dir, mode);
  }

  /** Create one new folder with `mode` (chmod after, past the umask); false when it exists. */
  async createDir(path: string, mode: number): Promise<boolean> {
    try {
      await mkdir(path, { mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw new ExecError(`could not create ${path}: ${(e as Error).message}`);
    }
    await chmod(path, mode);
    return true;
  }

  /** Facts about a path. */
  async stat(path: string): Promise<FileStat | undefined> {
    try {
      const s = await stat(path);
      return { mode: s.mode & 0o7777, size: s.size, mtimeMs: s.mtimeMs };
    } catch (e) {
      if (missing(e)) return undefined;
      throw e;
    }
  }

  /** Names in a folder. */
  async list(dir: string): Promise<string[]> {
    try {
      return await readdir(dir);
    } catch (e) {
      if (missing(e)) return [];
      throw e;
    }
  }

  /** The home folder: $HOME, else the account's. */
  async home(): Promise<string> {
    return this.setting.home || this.env.HOME || userInfo().homedir;
  }

  /** Where hpcjob was started. */
  async defaultWorkdir(): Promise<string> {
    return this.setting.cwd ?? process.cwd();
  }

  /** The login node as the user's computer reaches it; the user is $USER, else (unset or empty, as under cron and some containers) the account's. */
  async login(): Promise<LoginTarget> {
    return { host: this.setting.loginHost ?? hostname(), port: this.setting.loginPort ?? 22, user: this.env.USER || userInfo().username };
  }

  /** Nothing to close locally. */
  async dispose(): Promise<void> {}
}

/** A program on this machine whose stdout is read as a stream (`docker save`); `done` is its exit status and stderr once it ends. */
export interface OutputStream {
  stdout: Readable;
  done: Promise<{ code: number; stderr: string }>;
}

/** Start argv here (no shell) with `env`, its stdout a stream; a program that cannot start ends with code 127 and says so. */
export function streamOutput(argv: readonly string[], env: Record<string, string | undefined>): OutputStream {
  const [file, ...args] = argv;
  const child = spawn(file ?? "false", args, { env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
  const err: Buffer[] = [];
  child.stderr.on("data", (d: Buffer) => err.push(d));
  const done = new Promise<{ code: number; stderr: string }>((resolve) => {
    child.on("error", (e) => resolve({ code: 127, stderr: `could not run ${file}: ${e.message}` }));
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stderr: Buffer.concat(err).toString("utf8") }));
  });
  return { stdout: child.stdout, done };
}

/** True when `program` is an executable in one of `env.PATH`'s folders. */
export function onPath(env: Record<string, string | undefined>, program: string): boolean {
  return (env.PATH ?? "").split(":").some((dir) => {
    if (!dir) return false;
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
