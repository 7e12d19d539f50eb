/**
 * THE seam between hpcjob and the machine where Slurm lives. Commands get an
 * Executor and never ask which kind it is (local on the login node, SSH from
 * a laptop): it says what it can do. Only implementations of this interface
 * spawn processes or touch the cluster's files.
 */
import type { Readable } from "node:stream";
import type { LoginTarget } from "../core/login.js";

/** What a finished program printed and how it ended. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Facts about a file, or undefined when it does not exist. */
export interface FileStat {
  mode: number;
  size: number;
  mtimeMs: number;
}

/** A local port forwarded to host:port on the far side of the login node. */
export interface Forward {
  port: number;
  close(): Promise<void>;
}

/** Running programs and reading and writing files where Slurm runs. */
export interface Executor {
  /** True when the commands run on another machine than hpcjob (a login node over SSH): files can be copied there. */
  readonly remote: boolean;
  /** Run a program (argv, never through a shell) and collect its output. */
  run(argv: readonly string[]): Promise<RunResult>;
  /** Run a program (argv, never through a shell) with `input` streamed to its stdin (an image sent to the cluster over the one connection). */
  runWithInput(argv: readonly string[], input: Readable): Promise<RunResult>;
  /** A file's text, or undefined when it does not exist. */
  readFile(path: string): Promise<string | undefined>;
  /** Bytes of a file from `offset` on, or undefined when it does not exist. */
  readFrom(path: string, offset: number): Promise<Buffer | undefined>;
  /** Write a file with the given mode (created or replaced). */
  writeFile(path: string, data: string | Buffer, mode: number): Promise<void>;
  /**
   * Create a folder and any missing parents; each folder it creates gets
   * `mode`. A folder that exists already keeps its mode: hpcjob never
   * changes a folder it did not make.
   */
  mkdir(path: string, mode: number): Promise<void>;
  /**
   * Create one new folder (its parent must exist) with `mode`; false when it
   * exists already. Atomic: of two callers racing for a name, one gets true.
   */
  createDir(path: string, mode: number): Promise<boolean>;
  /** Facts about a path, or undefined when it does not exist. */
  stat(path: string): Promise<FileStat | undefined>;
  /** Names in a folder, or [] when it does not exist. */
  list(dir: string): Promise<string[]>;
  /** The user's home folder where Slurm runs. */
  home(): Promise<string>;
  /** The folder a job runs in when the user names none: the current one on the login node, the cluster home over SSH. */
  defaultWorkdir(): Promise<string>;
  /** How the user's own computer reaches the machine the commands run on (the printed tunnel's target), with the user name there. */
  login(): Promise<LoginTarget>;
  /** Listen on 127.0.0.1:`localPort` (another free port if taken) and forward to host:port beyond the login node; only an executor on another machine can. */
  forward?(localPort: number, host: string, port: number): Promise<Forward>;
  /** Close connections; safe to call twice. */
  dispose(): Promise<void>;
}
