/**
 * A tiny cluster for in-process command tests: a login node (the fake
 * executor's files) whose sbatch takes scripts and numbers jobs, whose
 * squeue and scontrol answer from a job table the test controls, and the
 * few plain commands remote install runs. Paired with a Context that
 * collects what a command reports, streams and shows.
 */
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import type { Context } from "../../src/commands/context.js";
import type { WaitEvent } from "../../src/core/events.js";
import type { LoginTarget } from "../../src/core/login.js";
import type { Executor, Forward } from "../../src/exec/executor.js";
import type { Placement } from "../../src/exec/placement.js";
import { FakeClock, FakeExecutor, fail, ok, squeueRow } from "../fakes.js";
import { ROOT } from "../helpers.js";

/** A job the fake Slurm knows: its state, node and, once it ends, exit code. */
export interface FakeJob {
  id: string;
  script: string;
  state: string;
  node?: string;
  exitCode?: number;
}

/** The fake login node: files in memory, a Slurm that numbers jobs from 4242. */
export class FakeCluster extends FakeExecutor {
  readonly jobs = new Map<string, FakeJob>();
  private next = 4242;
  /** What `scontrol show config` says (Slurm's default). */
  maxArraySize = 1001;
  /** Run when sbatch takes a script (a job becoming ready, say). */
  onSubmit?: (job: FakeJob) => void;

  constructor(
    override readonly remote: boolean = false,
    private readonly where: LoginTarget = { host: "login.example.org", user: "alice" },
  ) {
    super(new FakeClock());
    Object.assign(this.handlers, {
      sbatch: (argv: readonly string[]) => {
        const script = argv[argv.length - 1] ?? "";
        if (!this.files.has(script)) return fail(`sbatch: error: Unable to open file ${script}`);
        const job: FakeJob = { id: String(this.next++), script, state: "PENDING" };
        this.jobs.set(job.id, job);
        this.onSubmit?.(job);
        return ok(`${job.id}\n`);
      },
      squeue: (argv: readonly string[]) => {
        const ids = argv
          .find((a) => a.startsWith("--jobs="))
          ?.slice(7)
          .split(",");
        const listed = [...this.jobs.values()].filter((j) => ids === undefined || ids.includes(j.id));
        return ok(listed.map((j) => squeueRow({ jobId: j.id, state: j.state, node: j.node, script: j.script })).join(""));
      },
      scontrol: (argv: readonly string[]) => {
        if (argv[1] === "show" && argv[2] === "config")
          return ok(`ClusterName             = loopback\nMaxArraySize            = ${this.maxArraySize}\n`);
        const job = this.jobs.get(argv[argv.length - 1] ?? "");
        if (!job) return fail("slurm_load_jobs error: Invalid job id specified");
        return ok(
          `JobId=${job.id} JobName=x JobState=${job.state} Reason=None ExitCode=${job.exitCode ?? 0}:0 NodeList=${job.node ?? "(null)"}\n`,
        );
      },
      scancel: (argv: readonly string[]) => {
        for (const id of argv.slice(1)) {
          const job = this.jobs.get(id);
          if (job) job.state = "CANCELLED";
        }
        return ok();
      },
      git: () => fail("fatal: not a git repository"),
      sha256sum: (argv: readonly string[]) => {
        const data = this.files.get(argv[1] ?? "");
        return data === undefined ? fail("No such file") : ok(`${createHash("sha256").update(data).digest("hex")}  ${argv[1]}\n`);
      },
      mv: (argv: readonly string[]) => {
        const [from = "", to = ""] = argv.slice(-2);
        const data = this.files.get(from);
        if (data === undefined) return fail(`mv: cannot stat '${from}'`);
        this.files.delete(from);
        this.files.set(to, data);
        this.modes.set(to, this.modes.get(from) ?? 0o644);
        return ok();
      },
      chmod: (argv: readonly string[]) => {
        this.modes.set(argv[2] ?? "", Number.parseInt(argv[1] ?? "0", 8));
        return ok();
      },
      printenv: () => ok("/usr/local/bin:/usr/bin:/bin\n"),
      rm: () => ok(),
    });
  }

  /** The mode each file was written with. */
  readonly modes = new Map<string, number>();

  override async writeFile(path: string, data: string | Buffer, mode = 0o644): Promise<void> {
    await super.writeFile(path, data);
    this.modes.set(path, mode);
  }

  override async stat(path: string) {
    const s = await super.stat(path);
    return s && { ...s, mode: this.modes.get(path) ?? s.mode };
  }

  override async login(): Promise<LoginTarget> {
    return this.where;
  }

  /** A job as the test moves it on: state, node, exit code. */
  job(id: string): FakeJob {
    const j = this.jobs.get(id);
    if (!j) throw new Error(`no fake job ${id}`);
    return j;
  }

  /** The run directories under the fake home. */
  runDirs(): string[] {
    return [...this.files.keys()].filter((k) => /\/\.hpcjob\/runs\/[^/]+\/$/.test(k)).map((k) => k.slice(0, -1));
  }
}

/** A FakeCluster that forwards ports, as the SSH executor does. */
export class ForwardingCluster extends FakeCluster {
  readonly forwarded: { localPort: number; host: string; port: number }[] = [];
  constructor() {
    super(true);
  }
  async forward(localPort: number, host: string, port: number): Promise<Forward> {
    this.forwarded.push({ localPort, host, port });
    return { port: localPort + 1, close: async () => {} };
  }
}

/** A Context around a fake cluster, and everything the command reported, streamed, showed and connected to. */
export interface FakeContext extends Context {
  events: WaitEvent[];
  streamed: string;
  shown: unknown[];
  placements: Placement[];
  abort: () => void;
}

/** A Context for a command run in process on a "laptop" (no Slurm on PATH) with the test profiles and an empty home. */
export function fakeContext(exec: Executor, opts: { home?: string; cwd?: string; env?: Record<string, string> } = {}): FakeContext {
  const aborter = new AbortController();
  const home = opts.home ?? mkdtempSync(join(tmpdir(), "hpcjob-home-"));
  const ctx: FakeContext = {
    env: { PATH: "/nonexistent", HPCJOB_CLUSTERS: join(ROOT, "test/fixtures/clusters"), ...opts.env },
    home,
    cwd: opts.cwd ?? home,
    now: () => new Date(Date.UTC(2026, 10, 23, 10, 15, 0)),
    connect: async (placement) => {
      ctx.placements.push(placement);
      return exec;
    },
    localClusterName: async () => "hpcjob-test",
    report: (e) => ctx.events.push(e),
    stream: (text) => {
      ctx.streamed += text;
    },
    show: (data) => ctx.shown.push(data),
    signal: aborter.signal,
    events: [],
    streamed: "",
    shown: [],
    placements: [],
    abort: () => aborter.abort(),
  };
  return ctx;
}

/** The run directory's file `name` in the fake cluster. */
export function runFileOf(cluster: FakeCluster, runDir: string, name: string): string | undefined {
  return cluster.files.get(posix.join(runDir, name));
}
