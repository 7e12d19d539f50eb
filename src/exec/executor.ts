/**
 * THE seam between hpcjob and the machine where Slurm lives. Commands get an
 * Executor and never ask which kind: local (on the login node) or SSH (from a
 * laptop). Only implementations of this interface spawn processes or touch
 * the cluster's files.
 */

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

/** Running programs and reading and writing files where Slurm runs. */
export interface Executor {
  readonly kind: "local" | "ssh";
  /** Run a program (argv, never through a shell) and collect its output. */
  run(argv: readonly string[], opts?: { timeoutMs?: number }): Promise<RunResult>;
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
  /** The user's login name where Slurm runs. */
  user(): Promise<string>;
  /** Close connections; safe to call twice. */
  dispose(): Promise<void>;
}
