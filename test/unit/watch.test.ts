/**
 * The one job watcher (session/watch.ts) and its two users: Jupyter's wait
 * and following a log (batch --follow, logs -f). Simulated with the fake
 * executor and a fake clock, so minutes of waiting take milliseconds.
 */
import { describe, expect, it } from "vitest";
import { JobFailedError } from "../../src/core/errors.js";
import type { WaitEvent } from "../../src/core/events.js";
import { loggedExitCode } from "../../src/session/ended.js";
import { followLog } from "../../src/session/follow.js";
import { followSweep, NO_RECORD } from "../../src/session/sweepFollow.js";
import { waitForJupyter } from "../../src/session/wait.js";
import { MAX_POLL_MS, MIN_POLL_MS, WaitStopped, watchJobs } from "../../src/session/watch.js";
import { FakeClock, FakeExecutor, fail, ok, squeueRow } from "../fakes.js";

const RUN = "/home/alice/.hpcjob/runs/20260101-120000-jupyter";
const CONN = `${RUN}/connection.json`;
const LOG = `${RUN}/job.log`;
const CONNECTION = { node: "gpu-node1", port: 41234, token: "t0k3n" };
const DOWN = "squeue: error: slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n";
const FORGOTTEN = "slurm_load_jobs error: Invalid job id specified\n";
const MINUTE = 60_000;

/**
 * A scheduler whose job 7 pends until `startAt` ms, then runs, and from
 * `endAt` is over; the controller does not answer from `downFrom` to
 * `downUntil`. The job's work (connection.json, the log) is what each
 * waiter's test adds.
 */
function scenario(opts: { startAt: number; downFrom?: number; downUntil?: number; endAt?: number; endState?: string; exit?: string }) {
  const clock = new FakeClock();
  const exec = new FakeExecutor(clock, {
    squeue: () => {
      const t = clock.now();
      if (opts.downFrom !== undefined && t >= opts.downFrom && t < (opts.downUntil ?? Number.POSITIVE_INFINITY)) return fail(DOWN);
      if (opts.endAt !== undefined && t >= opts.endAt)
        return ok(squeueRow({ jobId: "7", state: opts.endState ?? "FAILED", reason: "NonZeroExitCode", node: "gpu-node1" }));
      if (t < opts.startAt) return ok(squeueRow({ jobId: "7", state: "PENDING", reason: "Resources", start: "2026-01-01T13:00:00" }));
      return ok(squeueRow({ jobId: "7", state: "RUNNING", node: "gpu-node1" }));
    },
    scontrol: () =>
      ok(
        `JobId=7 JobName=jupyter JobState=${opts.endState ?? "FAILED"} Reason=NonZeroExitCode ExitCode=${opts.exit ?? "1:0"} NodeList=gpu-node1\n`,
      ),
  });
  const events: WaitEvent[] = [];
  return { clock, exec, events, report: (e: WaitEvent) => events.push(e) };
}

type Scenario = ReturnType<typeof scenario>;

/** Times of the squeue calls. */
function squeueTimes(exec: FakeExecutor): number[] {
  return exec.callsOf("squeue").map((c) => c.at);
}

/** Gaps between successive squeue calls. */
function gaps(exec: FakeExecutor): number[] {
  const at = squeueTimes(exec);
  return at.slice(1).map((t, i) => t - (at[i] as number));
}

/** The most squeue calls in any minute from `from` to `to`. */
function worstMinute(exec: FakeExecutor, from: number, to: number): number {
  const at = squeueTimes(exec).filter((t) => t >= from && t < to);
  return Math.max(0, ...at.map((t) => at.filter((u) => u >= t && u < t + MINUTE).length));
}

/**
 * The two ways hpcjob waits for a job, each given the job's side: Jupyter
 * writes connection.json 20 s after the job starts; a batch job logs a
 * line, and its exit line 20 s after it starts.
 */
const WAITERS = {
  jupyter: {
    job(s: Scenario, startAt: number) {
      if (Number.isFinite(startAt)) s.clock.at(startAt + 20_000, () => s.exec.files.set(CONN, JSON.stringify(CONNECTION)));
    },
    wait: (s: Scenario, opts: { timeoutMs?: number; signal?: AbortSignal } = {}) =>
      waitForJupyter(s.exec, "7", RUN, { report: s.report, clock: s.clock, ...opts }),
    runningEvent: { kind: "starting", jobId: "7", node: "gpu-node1" },
  },
  follow: {
    job(s: Scenario, startAt: number) {
      if (!Number.isFinite(startAt)) return;
      s.clock.at(startAt + 100, () => s.exec.files.set(LOG, "epoch 1\n"));
      s.clock.at(startAt + 20_000, () => s.exec.files.set(LOG, "epoch 1\nhpcjob: the program exited with code 1\n"));
    },
    wait: (s: Scenario, opts: { timeoutMs?: number; signal?: AbortSignal } = {}) =>
      followLog(s.exec, "7", RUN, { write: () => {}, report: s.report, clock: s.clock, ...opts }),
    runningEvent: { kind: "note", text: "job 7 is running on gpu-node1" },
  },
};

describe.each(Object.entries(WAITERS))("the one watcher, waiting as %s", (_name, waiter) => {
  /** The scenario with the waiter's job side added; the job ends 21 s after it starts unless told otherwise. */
  const setUp = (opts: Parameters<typeof scenario>[0]) => {
    const s = scenario({ endAt: opts.startAt + 21_000, ...opts });
    waiter.job(s, opts.startAt);
    return s;
  };

  it("asks squeue at most 8 times in any minute of a job pending for 10 minutes, never within 2 s, backing off to 30 s", async () => {
    const s = setUp({ startAt: 10 * MINUTE });
    await waiter.wait(s).catch(() => undefined);
    expect(worstMinute(s.exec, 0, 10 * MINUTE)).toBeLessThanOrEqual(8);
    // Jupyter's wait made 24 calls in these ten minutes; following a log made 300.
    expect(squeueTimes(s.exec).filter((t) => t < 10 * MINUTE).length).toBeLessThanOrEqual(25);
    expect(Math.min(...gaps(s.exec))).toBeGreaterThanOrEqual(MIN_POLL_MS);
    expect(Math.max(...gaps(s.exec))).toBe(MAX_POLL_MS);
  });

  it("says why the job waits (reason and expected start), again when that changes, and once that it runs", async () => {
    const s = setUp({ startAt: 20_000 });
    const handler = s.exec.handlers.squeue as (argv: readonly string[]) => ReturnType<typeof ok>;
    s.exec.handlers.squeue = (argv) =>
      s.clock.now() < 8000 ? ok(squeueRow({ jobId: "7", state: "PENDING", reason: "Priority" })) : handler(argv);
    await waiter.wait(s).catch(() => undefined);
    expect(s.events).toEqual([
      { kind: "pending", jobId: "7", reason: "Priority", reasonText: expect.stringContaining("higher priority"), startTime: undefined },
      {
        kind: "pending",
        jobId: "7",
        reason: "Resources",
        reasonText: expect.stringContaining("resources"),
        startTime: "2026-01-01T13:00:00",
      },
      waiter.runningEvent,
    ]);
  });

  it("keeps waiting while the controller does not answer, says so once, and once that it is back", async () => {
    const s = setUp({ startAt: 40_000, downFrom: 5_000, downUntil: 25_000 });
    await waiter.wait(s).catch(() => undefined);
    expect(s.events.map((e) => e.kind)).toEqual(["pending", "controller-down", "controller-back", waiter.runningEvent.kind]);
    // While it is down, hpcjob asks at least every 10 s so it notices the return soon.
    const during = squeueTimes(s.exec).filter((t) => t >= 5_000 && t <= 25_000);
    expect(Math.max(...during.slice(1).map((t, i) => t - (during[i] as number)))).toBeLessThanOrEqual(10_000);
  });

  it("stops at the --timeout, saying so", async () => {
    const s = setUp({ startAt: Number.POSITIVE_INFINITY });
    const err = await waiter.wait(s, { timeoutMs: MINUTE }).catch((e) => e);
    expect(err).toBeInstanceOf(WaitStopped);
    expect(err).toMatchObject({ why: "timeout", exitCode: 1, message: expect.stringMatching(/^job 7 .* within the --timeout$/) });
    expect(s.clock.now()).toBe(MINUTE);
  });
});

describe("waiting for Jupyter", () => {
  /** Job 7 pends until `startAt`, then runs; Jupyter writes connection.json at `readyAt`. */
  function jupyter(opts: Parameters<typeof scenario>[0] & { readyAt?: number }) {
    const s = scenario(opts);
    if (opts.readyAt !== undefined) s.clock.at(opts.readyAt, () => s.exec.files.set(CONN, JSON.stringify(CONNECTION)));
    return s;
  }
  const wait = (s: Scenario, opts: { timeoutMs?: number; signal?: AbortSignal } = {}) =>
    waitForJupyter(s.exec, "7", RUN, { report: s.report, clock: s.clock, ...opts });

  it("returns the connection and says once that it pends (with the expected start) and once that it starts", async () => {
    const s = jupyter({ startAt: 10_000, readyAt: 60_000 });
    expect(await wait(s)).toEqual(CONNECTION);
    expect(s.events).toEqual([
      {
        kind: "pending",
        jobId: "7",
        reason: "Resources",
        reasonText: expect.stringContaining("resources"),
        startTime: "2026-01-01T13:00:00",
      },
      { kind: "starting", jobId: "7", node: "gpu-node1" },
    ]);
  });

  it("notices connection.json within 250 ms even while squeue is backed off", async () => {
    const s = jupyter({ startAt: 0, readyAt: 61_000 });
    s.exec.handlers.squeue = () => ok(squeueRow({ jobId: "7", state: "PENDING", reason: "Priority" }));
    await wait(s);
    expect(s.clock.now() - 61_000).toBeLessThanOrEqual(250);
  });

  it("asks squeue every 2 s once the job runs, to notice soon a Jupyter that failed", async () => {
    const s = jupyter({ startAt: 0, readyAt: 20_000 });
    await wait(s);
    expect(new Set(gaps(s.exec))).toEqual(new Set([MIN_POLL_MS]));
  });

  it("a job that ends before Jupyter is ready fails with its state and the tail of its log", async () => {
    const s = jupyter({ startAt: 0, endAt: 6_000 });
    s.exec.files.set(LOG, `${Array.from({ length: 40 }, (_, i) => `line ${i}`).join("\n")}\nFATAL:   could not open image /x.sif\n`);
    const err = await wait(s).catch((e) => e);
    expect(err).toBeInstanceOf(JobFailedError);
    expect(err.exitCode).toBe(1);
    expect(err.message).toBe(`job 7 ended (FAILED, exit code 1) before Jupyter was ready; the script and log are in ${RUN}`);
    expect(err.evidence[0]).toBe(`last lines of ${LOG}:`);
    expect(err.evidence.at(-1)).toBe("FATAL:   could not open image /x.sif");
    expect(err.evidence).toHaveLength(26);
  });

  it("a job the controller has forgotten is judged by accounting where the site keeps it (sacct: TIMEOUT)", async () => {
    const s = jupyter({ startAt: 0 });
    s.exec.handlers.squeue = () => fail(FORGOTTEN);
    s.exec.handlers.scontrol = () => fail(FORGOTTEN);
    s.exec.handlers.sacct = () => ok("7|TIMEOUT|0:15\n");
    const err = await wait(s).catch((e) => e);
    expect(err.message).toMatch(/^job 7 ended \(TIMEOUT, killed by signal 15\) before Jupyter was ready/);
  });

  it("a job Slurm has forgotten, on a site without accounting, is judged by the run directory", async () => {
    const s = jupyter({ startAt: 0 });
    s.exec.handlers.squeue = () => fail(FORGOTTEN);
    s.exec.handlers.scontrol = () => fail(FORGOTTEN);
    s.exec.handlers.sacct = () => fail("sacct: error: Slurm accounting storage is disabled\n");
    const err = await wait(s).catch((e) => e);
    expect(err.message).toMatch(/^job 7 ended \(ENDED\) before Jupyter was ready/);
    expect(err.evidence).toEqual([`${LOG} is empty`]);
  });

  it("gives up on a job that can never start, saying why", async () => {
    const s = jupyter({ startAt: Number.POSITIVE_INFINITY });
    s.exec.handlers.squeue = () => ok(squeueRow({ jobId: "7", state: "PENDING", reason: "PartitionTimeLimit" }));
    const err = await wait(s).catch((e) => e);
    expect(err).toBeInstanceOf(WaitStopped);
    expect(err).toMatchObject({ why: "hopeless", exitCode: 1 });
    expect(err.message).toBe(
      "job 7 will never start: asks for more time than the partition allows and will not start; ask for less --time (PartitionTimeLimit)",
    );
  });

  it("says a job killed by a signal was killed, not that it exited 0", async () => {
    const s = jupyter({ startAt: 0, endAt: 3_000, exit: "0:9" });
    const err = await wait(s).catch((e) => e);
    expect(err.message).toMatch(/^job 7 ended \(FAILED, killed by signal 9\) before Jupyter was ready/);
  });

  it("stops at the timeout and on Ctrl-C, saying which", async () => {
    const s = jupyter({ startAt: Number.POSITIVE_INFINITY });
    const timedOut = await wait(s, { timeoutMs: MINUTE }).catch((e) => e);
    expect(timedOut).toMatchObject({ why: "timeout", exitCode: 1, message: "job 7 was not ready within the --timeout" });
    expect(s.clock.now()).toBe(MINUTE);

    const aborter = new AbortController();
    s.clock.at(s.clock.now() + 7000, () => aborter.abort());
    const interrupted = await wait(s, { signal: aborter.signal }).catch((e) => e);
    expect(interrupted).toBeInstanceOf(WaitStopped);
    expect(interrupted).toMatchObject({ why: "interrupt", exitCode: 130, message: "interrupted while waiting for job 7" });
  });
});

describe("following a batch job", () => {
  /** Job 9 runs from the start; its log grows as `writes` says (time -> whole log so far). */
  function batchJob(opts: { endAt: number; writes: [number, string][]; scontrol?: string; squeue?: () => string }) {
    const clock = new FakeClock();
    const exec = new FakeExecutor(clock, {
      squeue: () =>
        ok(opts.squeue?.() ?? squeueRow({ jobId: "9", state: clock.now() < opts.endAt ? "RUNNING" : "FAILED", node: "gpu-node1" })),
      scontrol: () => ok(opts.scontrol ?? "JobId=9 JobState=FAILED ExitCode=3:0\n"),
    });
    for (const [at, text] of opts.writes) {
      if (at === 0) exec.files.set(LOG, text);
      else clock.at(at, () => exec.files.set(LOG, text));
    }
    let out = "";
    const events: WaitEvent[] = [];
    const follow = (more: { signal?: AbortSignal } = {}) =>
      followLog(exec, "9", RUN, { write: (t) => (out += t), report: (e) => events.push(e), clock, ...more });
    return { clock, exec, follow, out: () => out, events };
  }

  it("streams the log in order as it grows across polls and ends with the program's exit code", async () => {
    const j = batchJob({
      endAt: 5000,
      writes: [
        [0, "epoch 1\n"],
        [700, "epoch 1\nepoch 2\n"],
        [2000, "epoch 1\nepoch 2\nepoch 3\n"],
        [4000, "epoch 1\nepoch 2\nepoch 3\nhpcjob: the program exited with code 3\n"],
      ],
    });
    const end = await j.follow();
    expect(j.out()).toBe("epoch 1\nepoch 2\nepoch 3\nhpcjob: the program exited with code 3\n");
    expect(end).toEqual({ state: "FAILED", exitCode: 3 });
    expect(Math.min(...gaps(j.exec))).toBeGreaterThanOrEqual(MIN_POLL_MS);
  });

  it("asks squeue at most 8 times a minute while the job runs (6 once backed off), and soon after the program's exit line", async () => {
    const j = batchJob({
      endAt: 30 * MINUTE + 1000,
      writes: [
        [0, "epoch 1\n"],
        [30 * MINUTE, "epoch 1\nhpcjob: the program exited with code 0\n"],
      ],
      scontrol: "JobId=9 JobState=COMPLETED ExitCode=0:0\n",
    });
    j.exec.handlers.squeue = () =>
      ok(squeueRow({ jobId: "9", state: j.clock.now() < 30 * MINUTE + 1000 ? "RUNNING" : "COMPLETED", node: "gpu-node1" }));
    expect(await j.follow()).toEqual({ state: "COMPLETED", exitCode: 0 });
    // Following a log used to ask every 2 s as long as the job ran: 30 times a minute.
    expect(worstMinute(j.exec, 0, 30 * MINUTE)).toBeLessThanOrEqual(8);
    expect(worstMinute(j.exec, MINUTE, 30 * MINUTE)).toBeLessThanOrEqual(6);
    // The job ended 1 s after its exit line; following ends within a poll or two of that.
    expect(j.clock.now() - (30 * MINUTE + 1000)).toBeLessThanOrEqual(2 * MIN_POLL_MS);
  });

  it("takes the exit code from scontrol when the log has none: a signal S is 128+S", async () => {
    const killed = batchJob({ endAt: 3000, writes: [[0, "epoch 1\n"]], scontrol: "JobId=9 JobState=CANCELLED ExitCode=0:15\n" });
    expect(await killed.follow()).toEqual({ state: "CANCELLED", exitCode: 143 });
    const exited = batchJob({ endAt: 3000, writes: [[0, "epoch 1\n"]], scontrol: "JobId=9 JobState=FAILED ExitCode=2:0\n" });
    expect(await exited.follow()).toEqual({ state: "FAILED", exitCode: 2 });
  });

  it("a job Slurm has forgotten is read from the run directory: its whole log and the exit code it logged", async () => {
    const j = batchJob({ endAt: 0, writes: [[0, "epoch 1\nhpcjob: the program exited with code 4\n"]] });
    j.exec.handlers.squeue = () => fail(FORGOTTEN);
    j.exec.handlers.scontrol = () => fail(FORGOTTEN);
    j.exec.handlers.sacct = () => fail("sacct: error: Slurm accounting storage is disabled\n");
    expect(await j.follow()).toEqual({ state: "ENDED", exitCode: 4 });
    expect(j.out()).toBe("epoch 1\nhpcjob: the program exited with code 4\n");
  });

  it("a job that can never start stops following with the reason and how to cancel it", async () => {
    const j = batchJob({ endAt: Number.POSITIVE_INFINITY, writes: [] });
    j.exec.handlers.squeue = () => ok(squeueRow({ jobId: "9", state: "PENDING", reason: "PartitionTimeLimit" }));
    const err = await j.follow().catch((e) => e);
    expect(err).toBeInstanceOf(JobFailedError);
    expect(err.message).toBe(
      "job 9 will never start: asks for more time than the partition allows and will not start; ask for less --time (PartitionTimeLimit); cancel it with hpcjob cancel 9",
    );
  });

  it("Ctrl-C stops following, leaves the job, and says what state it was in", async () => {
    const j = batchJob({ endAt: Number.POSITIVE_INFINITY, writes: [] });
    j.exec.handlers.squeue = () => ok(squeueRow({ jobId: "9", state: "PENDING", reason: "Resources" }));
    const aborter = new AbortController();
    j.clock.at(7000, () => aborter.abort());
    expect(await j.follow({ signal: aborter.signal })).toEqual({ state: "PENDING", exitCode: 130, detached: true });
    expect(j.clock.now()).toBeLessThan(7500);
  });

  it("follows a requeued job through its second run: pending again is not its end, and it says the job was requeued", async () => {
    // Run 1 logs its exit line (a checkpoint after the signal) at 3 s; Slurm requeues the job at 4 s; it pends until 20 s, then runs again and ends at 30 s.
    const j = batchJob({
      endAt: 30_000,
      writes: [
        [0, "run 1\n"],
        [3000, "run 1\nhpcjob: the program exited with code 0\n"],
        [21_000, "run 1\nhpcjob: the program exited with code 0\nrun 2\n"],
        [29_000, "run 1\nhpcjob: the program exited with code 0\nrun 2\nhpcjob: the program exited with code 5\n"],
      ],
      scontrol: "JobId=9 JobState=FAILED ExitCode=5:0\n",
    });
    j.exec.handlers.squeue = () => {
      const t = j.clock.now();
      if (t < 4000) return ok(squeueRow({ jobId: "9", state: "RUNNING", node: "gpu-node1" }));
      if (t < 20_000) return ok(squeueRow({ jobId: "9", state: "PENDING", reason: "BeginTime" }));
      if (t < 30_000) return ok(squeueRow({ jobId: "9", state: "RUNNING", node: "gpu-node1" }));
      return ok(squeueRow({ jobId: "9", state: "FAILED", node: "gpu-node1" }));
    };
    expect(await j.follow()).toEqual({ state: "FAILED", exitCode: 5 });
    expect(j.out()).toContain("run 2\n");
    const notes = j.events.map((e) => (e.kind === "note" ? e.text : e.kind));
    expect(notes).toEqual([
      "job 9 is running on gpu-node1",
      "job 9 was requeued: it waits to run again",
      "pending",
      "job 9 is running on gpu-node1",
    ]);
  });

  it("reads the program's exit code from the log, the last one when requeued", () => {
    expect(loggedExitCode("x\nhpcjob: the program exited with code 0\ny\nhpcjob: the program exited with code 137\n")).toBe(137);
    expect(loggedExitCode("nothing")).toBeUndefined();
  });
});

describe("watching several jobs", () => {
  it("asks about all of them in one squeue call per poll, and goes on with the rest when one ends", async () => {
    const clock = new FakeClock();
    const exec = new FakeExecutor(clock, {
      squeue: () => {
        const seven = clock.now() < 10_000 ? "RUNNING" : "COMPLETED";
        return ok(squeueRow({ jobId: "7", state: seven, node: "n1" }) + squeueRow({ jobId: "8", state: "PENDING", reason: "Priority" }));
      },
    });
    const ended: string[] = [];
    const result = await watchJobs(
      exec,
      {
        jobIds: ["7", "8"],
        ended: async (over) => {
          ended.push(`${over.jobId}:${over.final?.state}`);
          return over.jobId === "8" ? "eight" : undefined;
        },
      },
      { report: () => {}, clock, timeoutMs: 5 * MINUTE },
    ).catch((e) => e);
    expect(ended).toEqual(["7:COMPLETED"]);
    expect(result).toMatchObject({ why: "timeout" });
    const lists = exec.callsOf("squeue").map((c) => c.argv.find((a) => a.startsWith("--jobs=")));
    expect(lists[0]).toBe("--jobs=7,8");
    expect(lists.at(-1)).toBe("--jobs=8");
  });
});

describe("following a sweep's arrays", () => {
  /** Two arrays (100: points 0-1, 101: point 2): pending, running, ended; point 1 exits 2, point 2 is killed before it records its end. */
  function sweepScenario(sacct = () => fail("sacct: error: Slurm accounting storage is disabled\n")) {
    const clock = new FakeClock();
    const record = (index: number, exitCode: number) =>
      `${JSON.stringify({ index, arrayJobId: "100", taskId: String(index), jobId: String(200 + index), exitCode, signal: null, start: "s", end: "e", node: "n1" })}\n`;
    const exec = new FakeExecutor(clock, {
      squeue: () => {
        const t = clock.now();
        if (t < 10_000) return ok(squeueRow({ jobId: "100_[0-1%2]", state: "PENDING" }) + squeueRow({ jobId: "101_0", state: "PENDING" }));
        if (t < 30_000)
          return ok(
            squeueRow({ jobId: "100_0", state: "RUNNING", node: "n1" }) +
              squeueRow({ jobId: "100_1", state: "RUNNING", node: "n1" }) +
              squeueRow({ jobId: "101_0", state: "PENDING" }),
          );
        if (t < 50_000) return ok(squeueRow({ jobId: "101_0", state: "RUNNING", node: "n2" }));
        return ok("");
      },
      find: () => ok(clock.now() >= 30_000 ? record(0, 0) + record(1, 2) : ""),
      sacct,
    });
    const events: WaitEvent[] = [];
    return { clock, exec, events, report: (e: WaitEvent) => events.push(e) };
  }

  it("asks squeue once per poll for all arrays, reports the counts as they change and names the points that failed", async () => {
    const s = sweepScenario();
    const sweep = { names: ["lr"], points: [["a"], ["b"], ["c"]], style: "args" as const };
    const arrays = [
      { jobId: "100", offset: 0, count: 2, script: "/r/job.sbatch" },
      { jobId: "101", offset: 2, count: 1, script: "/r/job-2.sbatch" },
    ];
    const end = await followSweep(s.exec, "/r", sweep, arrays, { report: s.report, clock: s.clock });
    // One call per poll for every array still in the queue.
    const asked = s.exec.callsOf("squeue").map((c) => c.argv.find((a) => a.startsWith("--jobs=")));
    expect(new Set(asked)).toEqual(new Set(["--jobs=100,101", "--jobs=101"]));
    expect(s.exec.callsOf("squeue").length).toBeLessThan(20);
    expect(gaps(s.exec).every((g) => g >= MIN_POLL_MS)).toBe(true);
    const counts = s.events.flatMap((e) => (e.kind === "progress" ? [e.text] : []));
    expect(counts).toEqual([
      "sweep: 3 pending, 0 running, 0 done, 0 failed (of 3)",
      "sweep: 1 pending, 2 running, 0 done, 0 failed (of 3)",
      "sweep: 1 pending, 0 running, 1 done, 1 failed (of 3)",
      "sweep: 0 pending, 1 running, 1 done, 1 failed (of 3)",
      "sweep: 0 pending, 0 running, 1 done, 2 failed (of 3)",
    ]);
    expect(end.counts).toEqual({ pending: 0, running: 0, done: 1, failed: 2 });
    // The arrays' tasks are told as counts, not as one job that runs, then pends ("requeued") again.
    expect(s.events.filter((e) => e.kind !== "progress")).toEqual([]);
    expect(end.failed).toEqual([
      { index: 1, params: { lr: "b" }, state: "FAILED", exitCode: 2, log: "/r/logs/100_1.log" },
      { index: 2, params: { lr: "c" }, state: NO_RECORD, log: "/r/logs/101_0.log" },
    ]);
  });

  it("takes the state of a task that left no record from sacct where it answers (TIMEOUT), and a COMPLETED one as done", async () => {
    const s = sweepScenario(() => ok("100|RUNNING|0:0\n100_0|COMPLETED|0:0\n100_1|FAILED|2:0\n101_0|TIMEOUT|0:15\n"));
    const sweep = { names: ["lr"], points: [["a"], ["b"], ["c"]], style: "args" as const };
    const arrays = [
      { jobId: "100", offset: 0, count: 2, script: "/r/job.sbatch" },
      { jobId: "101", offset: 2, count: 1, script: "/r/job-2.sbatch" },
    ];
    const end = await followSweep(s.exec, "/r", sweep, arrays, { report: s.report, clock: s.clock });
    expect(s.exec.callsOf("sacct")[0]?.argv).toEqual(["sacct", "-n", "-P", "-X", "--jobs=100,101", "--format=JobID,State,ExitCode"]);
    expect(end.failed).toEqual([
      { index: 1, params: { lr: "b" }, state: "FAILED", exitCode: 2, log: "/r/logs/100_1.log" },
      { index: 2, params: { lr: "c" }, state: "TIMEOUT", exitCode: 0, log: "/r/logs/101_0.log" },
    ]);
  });
});
