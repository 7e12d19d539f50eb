/**
 * The login node's files through plain commands on the connection, for
 * servers that refuse the SFTP subsystem. Each operation is one small POSIX
 * `sh -c` script (a constant) with the path and mode as its arguments, so no
 * value is ever part of the script; exit status 3 means "does not exist".
 * Each script first prints a marker, and only what follows it is read: a
 * login shell whose startup files print a banner cannot corrupt a file read.
 * Needs GNU coreutils and findutils (stat -c, find -printf), as Linux login
 * nodes have.
 */
import { ExecError } from "../../core/errors.js";
import type { FileStat } from "../executor.js";
import type { ChannelResult } from "./channel.js";
import { folderChain, type RemoteFiles, type Runner } from "./remoteFiles.js";

const MISSING = 3;
// Printed (as \036hpcjob\036, RS characters) before a script's own output.
const MARK = Buffer.from("\x1ehpcjob\x1e");

// $1 path, $2 first byte to send (1-based).
const READ = '[ -e "$1" ] || exit 3; exec tail -c "+$2" -- "$1"';
// $1 path, $2 mode. Written beside the target and renamed over it: a reader never sees half a file.
const WRITE = 't="$1.hpcjob-$$"; umask 077; cat >"$t" && chmod "$2" "$t" && mv -f "$t" "$1" || { s=$?; rm -f "$t"; exit "$s"; }';
// $1 mode, then the folders outermost first: each missing one is made with the mode (another process may make it first).
const MKDIRS =
  'm=$1; shift; for d; do [ -d "$d" ] || mkdir -m "$m" -- "$d" 2>/dev/null || [ -d "$d" ] || mkdir -m "$m" -- "$d" || exit 1; done';
// $1 path, $2 mode. mkdir is atomic and -m sets the mode exactly (no umask).
const CREATE = 'mkdir -m "$2" -- "$1" && exit 0; [ -e "$1" ] && exit 3; exit 1';
// $1 path: mode (hex), size, mtime (s) of what it points to.
const STAT = '[ -e "$1" ] || exit 3; exec stat -L -c "%f %s %Y" -- "$1"';
// $1 folder: its names, each ended by a NUL (a name may hold a newline).
const LIST = '[ -e "$1" ] || exit 3; cd -- "$1" && exec find . -mindepth 1 -maxdepth 1 -printf \'%f\\0\'';

/** RemoteFiles over plain commands. */
export class ShellFiles implements RemoteFiles {
  readonly kind = "shell";
  constructor(private readonly run: Runner) {}

  /** Run one of the scripts with its arguments; undefined when it says the path does not exist. */
  private async script(what: string, script: string, args: readonly string[], stdin?: string | Buffer): Promise<ChannelResult | undefined> {
    const r = await this.run(["sh", "-c", `printf '\\036hpcjob\\036'; ${script}`, "sh", ...args], stdin);
    if (r.code === MISSING) return undefined;
    if (r.code !== 0) {
      const said = r.stderr.trim().split("\n").filter(Boolean);
      throw new ExecError(`could not ${what} on the cluster: ${said[said.length - 1] ?? `exit status ${r.code}`}`, said.slice(0, -1));
    }
    const start = r.stdout.indexOf(MARK);
    return start < 0 ? r : { ...r, stdout: r.stdout.subarray(start + MARK.length) };
  }

  async readFrom(path: string, offset: number): Promise<Buffer | undefined> {
    return (await this.script(`read ${path}`, READ, [path, String(offset + 1)]))?.stdout;
  }

  async writeFile(path: string, data: string | Buffer, mode: number): Promise<void> {
    await this.script(`write ${path}`, WRITE, [path, mode.toString(8)], data);
  }

  async mkdir(path: string, mode: number): Promise<void> {
    await this.script(`create ${path}`, MKDIRS, [mode.toString(8), ...folderChain(path)]);
  }

  async createDir(path: string, mode: number): Promise<boolean> {
    return (await this.script(`create ${path}`, CREATE, [path, mode.toString(8)])) !== undefined;
  }

  async stat(path: string): Promise<FileStat | undefined> {
    const r = await this.script(`look at ${path}`, STAT, [path]);
    if (r === undefined) return undefined;
    const [mode, size, mtime] = r.stdout.toString("utf8").trim().split(" ");
    return { mode: Number.parseInt(mode ?? "", 16) & 0o7777, size: Number(size), mtimeMs: Number(mtime) * 1000 };
  }

  async list(dir: string): Promise<string[]> {
    const r = await this.script(`list ${dir}`, LIST, [dir]);
    return r === undefined ? [] : r.stdout.toString("utf8").split("\0").filter(Boolean);
  }

  async home(): Promise<string> {
    const r = await this.script("find the home folder", "pwd -P", []);
    return (r?.stdout.toString("utf8") ?? "").replace(/\n$/, "");
  }
}
