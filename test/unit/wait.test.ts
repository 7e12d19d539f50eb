import { describe, expect, it } from "vitest";
import { JobFailedError } from "../../src/core/errors.js";
import type { WaitEvent } from "../../src/core/events.js";
import { followLog, loggedExitCode } from "../../src/session/follow.js";
import { MAX_POLL_MS, MIN_POLL_MS, WaitStopped, waitForJupyter } from "../../src/session/wait.js";
import { FakeClock, FakeExecutor, fail, ok, squeueRow } from "../fakes.js";

const RUN = "/home/alice/.hpcjob/runs/20260101-120000-jupyter";
const CONN = `${RUN}/connection.json`;
const LOG = `${RUN}/job.log`;
const CONNECTION = { node: "gpu-node1", port: 41234, token: "t0k3n" };
const DOWN = "squeue: error: slurm_load_jobs error: Unable to contact slurm controller (connect failure)\n";

/** A scheduler whose job 7 pends until `startAt` ms, then runs; Jupyter writes connection.json at `readyAt`. */
function scenario(opts: { startAt: number; readyAt?: number; downFrom?: number; downUntil?: number; endAt?: number; endState?: string }) {
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
    scontrol: () => ok("JobId=7 JobName=jupyter JobState=FAILED Reason=NonZeroExitCode ExitCode=1:0 NodeList=gpu-node1\n"),
  });
  if (opts.readyAt !== undefined) clock.at(opts.readyAt, () => exec.files.set(CONN, JSON.stringify(CONNECTION)));
  const events: WaitEvent[] = [];
  return { clock, exec, events, report: (e: WaitEvent) => events.push(e) };
}

/** Gaps between successive squeue calls. */
function gaps(exec: FakeExecutor): number[] {
  const at = exec.callsOf("squeue").map((c) => c.at);
  return at.slice(1).map((t, i) => t - (at[i] as number));
}

describe("waiting for Jupyter", () => {
  it("returns the connection and says once that it pends (with the expected start) and once that it starts", async () => {
    const s = scenario({ startAt: 10_000, readyAt: 60_000 });
    const conn = await waitForJupyter(s.exec, "7", RUN, { report: s.report, clock: s.clock });
    expect(conn).toEqual(CONNECTION);
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

  it("never calls squeue more often than every 2 s, and backs off to 30 s while pending for long", async () => {
    const s = scenario({ startAt: 10 * 60_000, readyAt: 10 * 60_000 + 5000 });
    await waitForJupyter(s.exec, "7", RUN, { report: s.report, clock: s.clock });
    const g = gaps(s.exec);
    expect(Math.min(...g)).toBeGreaterThanOrEqual(MIN_POLL_MS);
    expect(Math.max(...g)).toBe(MAX_POLL_MS);
    // Ten minutes pending: a few calls to ramp up, then two a minute.
    const pendingCalls = s.exec.callsOf("squeue").filter((c) => c.at < 10 * 60_000).length;
    expect(pendingCalls).toBeLessThan(30);
  });

  it("notices connection.json within 250 ms even while squeue is backed off", async () => {
    const s = scenario({ startAt: 0, readyAt: 61_000 });
    s.exec.handlers.squeue = () => ok(squeueRow({ jobId: "7", state: "PENDING", reason: "Priority" }));
    await waitForJupyter(s.exec, "7", RUN, { report: s.report, clock: s.clock });
    expect(s.clock.now() - 61_000).toBeLessThanOrEqual(250);
  });

  it("keeps waiting while the controller does not answer, and says when it is back", async () => {
    const s = scenario({ startAt: 40_000, readyAt: 90_000, downFrom: 5_000, downUntil: 25_000 });
    const conn = await waitForJupyter(s.exec, "7", RUN, { report: s.report, clock: s.clock });
    expect(conn.token).toBe("t0k3n");
    expect(s.events.map((e) => e.kind)).toEqual(["pending", "controller-down", "controller-back", "starting"]);
    // While it is down, hpcjob asks at least every 10 s so it notices the return soon.
    const during = s.exec
      .callsOf("squeue")
      .map((c) => c.at)
      .filter((t) => t >= 5_000 && t <= 25_000);
    expect(Math.max(...during.slice(1).map((t, i) => t - (during[i] as number)))).toBeLessThanOrEqual(10_000);
  });

  it("a job that ends before Jupyter is ready fails with its state and the tail of its log", async () => {
    const s = scenario({ startAt: 0, endAt: 6_000 });
    s.exec.files.set(LOG, `${Array.from({ length: 40 }, (_, i) => `line ${i}`).join("\n")}\nFATAL:   could not open image /x.sif\n`);
    const err = await waitForJupyter(s.exec, "7", RUN, { report: s.report, clock: s.clock }).catch((e) => e);
    expect(err).toBeInstanceOf(JobFailedError);
    expect(err.exitCode).toBe(1);
    expect(err.message).toBe(`job 7 ended (FAILED, exit code 1) before Jupyter was ready; the script and log are in ${RUN}`);
    expect(err.evidence[0]).toBe(`last lines of ${LOG}:`);
    expect(err.evidence.at(-1)).toBe("FATAL:   could not open image /x.sif");
    expect(err.evidence).toHaveLength(26);
  });

  it("a job Slurm has forgotten is judged by scontrol and the run directory", async () => {
    const s = scenario({ startAt: 0 });
    s.exec.handlers.squeue = () => fail("slurm_load_jobs error: Invalid job id specified\n");
    s.exec.handlers.scontrol = () => fail("slurm_load_jobs error: Invalid job id specified\n");
    const err = await waitForJupyter(s.exec, "7", RUN, { report: s.report, clock: s.clock }).catch((e) => e);
    expect(err.message).toMatch(/^job 7 ended \(ENDED\) before Jupyter was ready/);
    expect(err.evidence).toEqual([`${LOG} is empty`]);
  });

  it("gives up on a job that can never start, saying why", async () => {
    const s = scenario({ startAt: Number.POSITIVE_INFINITY });
    s.exec.handlers.squeue = () => ok(squeueRow({ jobId: "7", state: "PENDING", reason: "PartitionTimeLimit" }));
    const err = await waitForJupyter(s.exec, "7", RUN, { report: s.report, clock: s.clock }).catch((e) => e);
    expect(err).toBeInstanceOf(WaitStopped);
    expect(err).toMatchObject({ why: "hopeless", exitCode: 1 });
    expect(err.message).toBe(
      "job 7 will never start: asks for more time than the partition allows and will not start; ask for less --time (PartitionTimeLimit)",
    );
  });

  it("says a job killed by a signal was killed, not that it exited 0", async () => {
    const s = scenario({ startAt: 0, endAt: 3_000 });
    s.exec.handlers.scontrol = () => ok("JobId=7 JobState=FAILED Reason=JobLaunchFailure ExitCode=0:9\n");
    const err = await waitForJupyter(s.exec, "7", RUN, { report: s.report, clock: s.clock }).catch((e) => e);
    expect(err.message).toMatch(/^job 7 ended \(FAILED, killed by signal 9\) before Jupyter was ready/);
  });

  it("stops at the timeout and on Ctrl-C, saying which", async () => {
    const s = scenario({ startAt: Number.POSITIVE_INFINITY });
    const timedOut = await waitForJupyter(s.exec, "7", RUN, { report: s.report, clock: s.clock, timeoutMs: 60_000 }).catch((e) => e);
    expect(timedOut).toBeInstanceOf(WaitStopped);
    expect(timedOut).toMatchObject({ why: "timeout", exitCode: 1 });
    expect(s.clock.now()).toBe(60_000);

    const aborter = new AbortController();
    s.clock.at(s.clock.now() + 7000, () => aborter.abort());
    const interrupted = await waitForJupyter(s.exec, "7", RUN, { report: s.report, clock: s.clock, signal: aborter.signal }).catch(
      (e) => e,
    );
    expect(interrupted).toMatchObject({ why: "interrupt", exitCode: 130, message: "interrupted while waiting for job 7" });
  });
});

describe("following a batch job", () => {
  it("streams the log as it grows and ends with the program's exit code", async () => {
    const clock = new FakeClock();
    const exec = new FakeExecutor(clock, {
      squeue: () => ok(squeueRow({ jobId: "9", state: clock.now() < 5000 ? "RUNNING" : "FAILED", node: "gpu-node1" })),
      scontrol: () => ok("JobId=9 JobState=FAILED ExitCode=3:0\n"),
    });
    exec.files.set(LOG, "epoch 1\n");
    clock.at(2000, () => exec.files.set(LOG, "epoch 1\nepoch 2\n"));
    clock.at(4000, () => exec.files.set(LOG, "epoch 1\nepoch 2\nhpcjob: the program exited with code 3\n"));
    let out = "";
    const end = await followLog(exec, "9", RUN, { write: (t) => (out += t), report: () => {}, clock });
    expect(out).toBe("epoch 1\nepoch 2\nhpcjob: the program exited with code 3\n");
    expect(end).toEqual({ state: "FAILED", exitCode: 3 });
    expect(Math.min(...gaps(exec))).toBeGreaterThanOrEqual(MIN_POLL_MS);
  });

  it("reads the program's exit code from the log, the last one when requeued", () => {
    expect(loggedExitCode("x\nhpcjob: the program exited with code 0\ny\nhpcjob: the program exited with code 137\n")).toBe(137);
    expect(loggedExitCode("nothing")).toBeUndefined();
  });
});
