/**
 * Fakes for unit tests of code that talks to Slurm: an Executor that answers
 * each command by its name from a handler (like submitit's fake scheduler),
 * keeps files in memory, and a clock that advances only when slept on.
 */
import type { Readable } from "node:stream";
import type { LoginTarget } from "../src/core/login.js";
import type { Executor, FileStat, RunResult } from "../src/exec/executor.js";
import type { Clock } from "../src/session/clock.js";
import { FIELD_SEP, RECORD_END } from "../src/slurm/index.js";

/**
 * A clock whose sleeps return at once, moving time on and firing scheduled
 * actions. A loop that never ends would spin without yielding to vitest's
 * timeout, so sleeping past `limitMs` of fake time throws instead.
 */
export class FakeClock implements Clock {
  t = 0;
  private readonly scheduled: { at: number; fn: () => void }[] = [];

  constructor(readonly limitMs = 24 * 3600_000) {}

  /** The fake time in ms. */
  now(): number {
    return this.t;
  }

  /** Advance time by `ms` (or until aborted), running what was scheduled up to then. */
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return;
    this.t += ms;
    if (this.t > this.limitMs) throw new Error(`FakeClock: still waiting after ${this.limitMs} ms of fake time`);
    for (const s of this.scheduled.filter((x) => x.at <= this.t)) {
      this.scheduled.splice(this.scheduled.indexOf(s), 1);
      s.fn();
    }
  }

  /** Run `fn` once the fake time reaches `at` ms. */
  at(at: number, fn: () => void): void {
    this.scheduled.push({ at, fn });
  }
}

/** A handler answers one command: argv in, what the program printed out. */
export type Handler = (argv: readonly string[]) => RunResult;

/** An Executor with in-memory files and scripted commands; records every call with its time. */
export class FakeExecutor implements Executor {
  readonly remote: boolean = false;
  readonly files = new Map<string, string>();
  readonly calls: { at: number; argv: readonly string[] }[] = [];

  constructor(
    private readonly clock: FakeClock,
    readonly handlers: Record<string, Handler> = {},
  ) {}

  /** Answer with the handler named by argv[0]. */
  async run(argv: readonly string[]): Promise<RunResult> {
    this.calls.push({ at: this.clock.now(), argv });
    const h = this.handlers[argv[0] ?? ""];
    if (!h) throw new Error(`the fake executor has no handler for ${argv[0]}`);
    return h(argv);
  }

  /** Answer like run; the input is read to its end and kept as `input` of the last such call. */
  async runWithInput(argv: readonly string[], input: Readable): Promise<RunResult> {
    const chunks: Buffer[] = [];
    for await (const c of input) chunks.push(Buffer.from(c as Buffer));
    this.lastInput = Buffer.concat(chunks);
    return this.run(argv);
  }

  /** What the last runWithInput read. */
  lastInput?: Buffer;

  /** Calls of one command. */
  callsOf(cmd: string): { at: number; argv: readonly string[] }[] {
    return this.calls.filter((c) => c.argv[0] === cmd);
  }

  async readFile(path: string): Promise<string | undefined> {
    return this.files.get(path);
  }

  async readFrom(path: string, offset: number): Promise<Buffer | undefined> {
    const f = this.files.get(path);
    return f === undefined ? undefined : Buffer.from(f).subarray(offset);
  }

  async writeFile(path: string, data: string | Buffer): Promise<void> {
    this.files.set(path, data.toString());
  }

  async mkdir(path: string): Promise<void> {
    this.files.set(`${path}/`, "");
  }

  async createDir(path: string): Promise<boolean> {
    if (this.files.has(`${path}/`)) return false;
    this.files.set(`${path}/`, "");
    return true;
  }

  async stat(path: string): Promise<FileStat | undefined> {
    const f = this.files.get(path) ?? this.files.get(`${path}/`);
    return f === undefined ? undefined : { mode: 0o600, size: f.length, mtimeMs: this.clock.now() };
  }

  async list(dir: string): Promise<string[]> {
    const prefix = `${dir}/`;
    return [...new Set([...this.files.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length).split("/")[0] ?? ""))];
  }

  async home(): Promise<string> {
    return "/home/alice";
  }

  async defaultWorkdir(): Promise<string> {
    return "/home/alice/work";
  }

  async login(): Promise<LoginTarget> {
    return { host: "login.example.org", user: "alice" };
  }

  async dispose(): Promise<void> {}
}

/** One squeue record in hpcjob's format. */
export function squeueRow(e: { jobId: string; state: string; reason?: string; node?: string; start?: string; script?: string }): string {
  const fields = [
    e.jobId,
    e.state,
    e.reason ?? "None",
    e.node ?? "",
    e.start ?? "N/A",
    "jupyter",
    "alice",
    "hpcjob",
    e.script ?? "/home/alice/.hpcjob/runs/x/job.sbatch",
    "0:00",
    "30:00",
    "gpu",
  ];
  return `${fields.join(FIELD_SEP)}${RECORD_END}\n`;
}

/** A successful run printing `stdout`. */
export function ok(stdout = ""): RunResult {
  return { code: 0, stdout, stderr: "" };
}

/** A failed run printing `stderr`. */
export function fail(stderr: string, code = 1): RunResult {
  return { code, stdout: "", stderr };
}
