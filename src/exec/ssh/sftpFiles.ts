/**
 * The login node's files through the SFTP subsystem of the connection.
 */
import type { SFTPWrapper } from "ssh2";
import { ExecError } from "../../core/errors.js";
import type { FileStat } from "../executor.js";
import { folderChain, type RemoteFiles } from "./remoteFiles.js";

// SFTP's status code for "no such file".
const NO_SUCH_FILE = 2;

/** A callback-style SFTP call as a promise. */
function call<T>(op: (cb: (e: Error | null | undefined, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => op((e, value) => (e ? reject(e) : resolve(value))));
}

/** True for SFTP's "no such file" error. */
function missing(e: unknown): boolean {
  return (e as { code?: number }).code === NO_SUCH_FILE;
}

/** RemoteFiles over SFTP. */
export class SftpFiles implements RemoteFiles {
  readonly kind = "sftp";
  constructor(private readonly sftp: SFTPWrapper) {}

  async readFrom(path: string, offset: number): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const stream = this.sftp.createReadStream(path, { start: offset });
      stream.on("data", (d: Buffer) => chunks.push(d));
      stream.on("error", (e: Error) =>
        missing(e) ? resolve(undefined) : reject(new ExecError(`could not read ${path} on the cluster: ${e.message}`)),
      );
      stream.on("end", () => resolve(Buffer.concat(chunks)));
    });
  }

  async writeFile(path: string, data: string | Buffer, mode: number): Promise<void> {
    await call<void>((cb) => this.sftp.writeFile(path, data, { mode }, (e) => cb(e, undefined)));
    // The server's umask applies to a new file; the mode asked for is set exactly.
    await call<void>((cb) => this.sftp.chmod(path, mode, (e) => cb(e, undefined)));
  }

  async mkdir(path: string, mode: number): Promise<void> {
    for (const dir of folderChain(path)) {
      if (!(await this.stat(dir))) await this.createDir(dir, mode);
    }
  }

  async createDir(path: string, mode: number): Promise<boolean> {
    const made = await new Promise<Error | undefined>((resolve) => this.sftp.mkdir(path, { mode }, (e) => resolve(e ?? undefined)));
    if (made) {
      // SFTP says only "Failure": whether the folder is there tells EEXIST from the rest.
      if (await this.stat(path)) return false;
      throw new ExecError(`could not create ${path} on the cluster: ${made.message}`);
    }
    // The server's umask applies to mkdir; the mode asked for is set exactly.
    await call<void>((cb) => this.sftp.chmod(path, mode, (e) => cb(e, undefined)));
    return true;
  }

  async stat(path: string): Promise<FileStat | undefined> {
    try {
      const s = await call<{ mode: number; size: number; mtime: number }>((cb) => this.sftp.stat(path, cb));
      return { mode: s.mode & 0o7777, size: s.size, mtimeMs: s.mtime * 1000 };
    } catch (e) {
      if (missing(e)) return undefined;
      throw e;
    }
  }

  async list(dir: string): Promise<string[]> {
    try {
      const entries = await call<{ filename: string }[]>((cb) => this.sftp.readdir(dir, cb));
      return entries.map((f) => f.filename);
    } catch (e) {
      if (missing(e)) return [];
      throw e;
    }
  }

  async home(): Promise<string> {
    // The SFTP server starts in the home folder.
    return call<string>((cb) => this.sftp.realpath(".", cb));
  }
}
