/**
 * src/slurm against output recorded from a real Slurm 22.05 cluster
 * (test/fixtures/slurm/, made by record.ts there with these argv builders).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isHpcjobError, SlurmError, UsageError } from "../../src/core/errors.js";
import {
  arrayTasks,
  baseState,
  describeReason,
  FIELD_SEP,
  isControllerDown,
  isInvalidJobId,
  isPending,
  isRunning,
  isTerminal,
  parseSacct,
  parseSacctHistory,
  parseSbatch,
  parseScontrolShowJob,
  parseSqueue,
  type QueueEntry,
  sacctHistoryArgv,
  sbatchArgv,
  scancelArgv,
  scontrolShowJobArgv,
  squeueArgv,
  squeueUserArgv,
} from "../../src/slurm/index.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "slurm");

/** A recorded output, byte for byte. */
function fixture(name: string): string {
  return readFileSync(join(FIXTURES, name), "utf8");
}

/** The entry for one job id (fails the test when it is missing). */
function entry(entries: QueueEntry[], jobId: string): QueueEntry {
  const e = entries.find((x) => x.jobId === jobId);
  if (!e) throw new Error(`job ${jobId} is not in the output`);
  return e;
}

/** The error `f` throws. */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("did not throw");
}

const US = "\x1f";
const RS = "\x1e";

describe("argv builders", () => {
  it("builds exactly the command lines the fixtures were recorded with", () => {
    expect(sbatchArgv("/home/alice/my runs/job.sbatch")).toEqual(["sbatch", "--parsable", "/home/alice/my runs/job.sbatch"]);
    expect(squeueArgv(["134", "135"])).toEqual([
      "squeue",
      "-h",
      "--jobs=134,135",
      "--states=all",
      "-o",
      `%i${US}%T${US}%r${US}%N${US}%S${US}%j${US}%u${US}%k${US}%o${US}%M${US}%l${US}%P${RS}`,
    ]);
    expect(squeueUserArgv("alice")).toEqual([
      "squeue",
      "-h",
      "--user=alice",
      "--states=all",
      "-o",
      `%i${US}%T${US}%r${US}%N${US}%S${US}%j${US}%u${US}%k${US}%o${US}%M${US}%l${US}%P${RS}`,
    ]);
    expect(scontrolShowJobArgv("142")).toEqual(["scontrol", "show", "job", "-o", "142"]);
    expect(scancelArgv(["134", "135"])).toEqual(["scancel", "134", "135"]);
  });

  it("accepts array task ids", () => {
    expect(scancelArgv(["7_3"])).toEqual(["scancel", "7_3"]);
  });

  it.each([["--user=alice"], ["12,13"], [""], ["-1"], ["12 13"]])("refuses %j as a job id, so it never reaches scancel or squeue", (id) => {
    const e = thrown(() => scancelArgv([id]));
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).toContain("is not a Slurm job id");
    expect(() => squeueArgv(["12", id])).toThrow(UsageError);
    expect(() => scontrolShowJobArgv(id)).toThrow(UsageError);
  });

  it("refuses an empty id list, which would list or touch every job", () => {
    expect(() => squeueArgv([])).toThrow("no job ids");
    expect(() => scancelArgv([])).toThrow("no job ids");
  });
});

describe("sbatch --parsable", () => {
  it("reads the recorded job id", () => {
    expect(fixture("sbatch-parsable.txt")).toBe("134\n");
    expect(parseSbatch(fixture("sbatch-parsable.txt"))).toBe("134");
  });

  it("drops the cluster name of a multi-cluster site and notes printed before the id", () => {
    expect(parseSbatch("4242;vera\n")).toBe("4242");
    expect(parseSbatch("note from job_submit: defaults applied\n4243\n")).toBe("4243");
  });

  it.each([[""], ["\n"], ["Submitted batch job 12\n"]])("throws SlurmError when there is no id in %j", (stdout) => {
    const e = thrown(() => parseSbatch(stdout));
    expect(e).toBeInstanceOf(SlurmError);
    expect(isHpcjobError(e)).toBe(true);
    expect((e as SlurmError).message).toMatch(/^sbatch did not print a job id/);
    expect((e as SlurmError).exitCode).toBe(1);
  });

  it("keeps sbatch's words as evidence", () => {
    const e = thrown(() => parseSbatch("Submitted batch job 12\n")) as SlurmError;
    expect(e.evidence).toEqual(["Submitted batch job 12"]);
  });
});

describe("squeue", () => {
  const queue = parseSqueue(fixture("squeue-running-pending.txt"));

  it("reads one entry per job, in squeue's order", () => {
    expect(queue.map((e) => e.jobId)).toEqual(["134", "135", "136", "137", "139", "140", "141", "138"]);
  });

  it("reads a running job completely", () => {
    expect(entry(queue, "134")).toEqual({
      jobId: "134",
      state: "RUNNING",
      reason: "None",
      node: "gpu-node1",
      startTime: "2026-11-22T02:57:41",
      name: "hold1",
      user: "alice",
      comment: "hpcjob",
      script: "/home/alice/fixtures/hold1/job.sbatch",
      timeUsed: "0:09",
      timeLimit: "10:00",
      partition: "cpu",
    });
  });

  it("keeps spaces in script paths", () => {
    expect(entry(queue, "135").script).toBe("/home/alice/fixtures/my runs/hold2/job.sbatch");
  });

  it("reads pending jobs: no node, the backfill estimate or no start time, and the reason", () => {
    const gpu = entry(queue, "136");
    expect(gpu).toMatchObject({
      state: "PENDING",
      reason: "Resources",
      startTime: "2026-11-22T03:07:41",
      partition: "gpu",
      timeLimit: "30:00",
    });
    expect(gpu.node).toBeUndefined();
    expect(entry(queue, "139")).toMatchObject({ reason: "Dependency", startTime: undefined });
    expect(entry(queue, "140")).toMatchObject({ reason: "BeginTime", startTime: "2026-11-22T03:57:42" });
    expect(entry(queue, "141")).toMatchObject({ reason: "PartitionTimeLimit", timeLimit: "2:00:00", startTime: undefined });
    expect(entry(queue, "138")).toMatchObject({ reason: "JobHeldUser" });
  });

  it("keeps Slurm's long reason text, commas and spaces included", () => {
    expect(entry(queue, "137").reason).toBe("Nodes required for job are DOWN, DRAINED or reserved for jobs in higher priority partitions");
  });

  it("lists a cancelled job and a job whose dependency can no longer be met", () => {
    const [hold1, dep] = parseSqueue(fixture("squeue-cancelled.txt"));
    expect(hold1).toMatchObject({ jobId: "134", state: "CANCELLED", node: "gpu-node1", timeUsed: "0:09" });
    expect(dep).toMatchObject({ jobId: "139", state: "PENDING", reason: "DependencyNeverSatisfied" });
  });

  it("lists ended jobs with their final state (--states=all)", () => {
    const ended = parseSqueue(fixture("squeue-ended.txt"));
    expect(ended.map((e) => [e.jobId, e.state, e.reason])).toEqual([
      ["142", "COMPLETED", "None"],
      ["143", "FAILED", "NonZeroExitCode"],
      ["144", "FAILED", "JobLaunchFailure"],
    ]);
    expect(parseSqueue(fixture("squeue-timeout.txt"))).toMatchObject([
      { jobId: "159", state: "TIMEOUT", reason: "TimeLimit", timeUsed: "1:03", timeLimit: "1:00" },
    ]);
  });

  it("leaves out an unknown id asked for together with known ones", () => {
    expect(parseSqueue(fixture("squeue-mixed-ids.txt")).map((e) => e.jobId)).toEqual(["142"]);
  });

  it("reads every job of a user, --wrap jobs (no comment, no script) included", () => {
    const mine = parseSqueue(fixture("squeue-user.txt"));
    expect(mine).toHaveLength(33);
    expect(new Set(mine.map((e) => e.user))).toEqual(new Set(["alice"]));
    const wrap = entry(mine, "104");
    expect(wrap).toMatchObject({ name: "wrap", comment: "", script: undefined, state: "CANCELLED" });
    expect(entry(mine, "113").script).toBe("/home/alice/.hpcjob/runs/20261122-025349-jupyter/job.sbatch");
    expect(mine.filter((e) => isPending(e.state)).map((e) => e.jobId)).toEqual(["136", "137", "139", "140", "141", "138"]);
    expect(mine.filter((e) => isRunning(e.state)).map((e) => e.jobId)).toEqual(["134", "135"]);
  });

  it("reads nothing from empty output", () => {
    expect(parseSqueue("")).toEqual([]);
  });

  it("keeps |, spaces and = in names and comments", () => {
    const line = ["7", "RUNNING", "None", "n1", "2026-01-01T00:00:00", "a|b c=d", "bob", "x|y", "(null)", "1:00", "UNLIMITED", "gpu"].join(
      US,
    );
    expect(parseSqueue(`${line}${RS}\n`)[0]).toMatchObject({ name: "a|b c=d", comment: "x|y", script: undefined, timeLimit: "UNLIMITED" });
  });

  it("throws SlurmError on output in another format", () => {
    const e = thrown(() => parseSqueue("134|RUNNING|None\n"));
    expect(e).toBeInstanceOf(SlurmError);
    expect((e as Error).message).toBe("could not read squeue output: a line has 1 fields where hpcjob asked for 12");
  });
});

describe("scontrol show job -o", () => {
  it("reads a running job whose paths have spaces", () => {
    expect(parseScontrolShowJob(fixture("scontrol-running.txt"))).toEqual({
      jobId: "135",
      state: "RUNNING",
      reason: undefined,
      exitCode: 0,
      signal: 0,
      node: "gpu-node1",
      stdout: "/home/alice/fixtures/my runs/hold2/job.log",
      command: "/home/alice/fixtures/my runs/hold2/job.sbatch",
      workDir: "/home/alice/fixtures/my runs/hold2",
      comment: "hpcjob",
      runTime: "00:00:09",
    });
  });

  it("reads a pending job: the reason, and no node (NodeList is empty)", () => {
    const info = parseScontrolShowJob(fixture("scontrol-pending.txt"));
    expect(info).toMatchObject({ jobId: "136", state: "PENDING", reason: "Resources", runTime: "00:00:00" });
    expect(info?.node).toBeUndefined();
  });

  it.each([
    ["scontrol-completed.txt", "142", "COMPLETED", undefined, 0, 0, "00:00:00"],
    ["scontrol-failed.txt", "143", "FAILED", "NonZeroExitCode", 3, 0, "00:00:00"],
    ["scontrol-signal.txt", "144", "FAILED", "JobLaunchFailure", 0, 9, "00:00:00"],
    ["scontrol-cancelled.txt", "134", "CANCELLED", undefined, 0, 15, "00:00:09"],
    ["scontrol-timeout.txt", "159", "TIMEOUT", "TimeLimit", 0, 15, "00:01:03"],
  ])("reads how the job in %s ended", (file, jobId, state, reason, exitCode, signal, runTime) => {
    const info = parseScontrolShowJob(fixture(file));
    expect(info).toMatchObject({ jobId, state, exitCode, signal, runTime, node: "gpu-node1", comment: "hpcjob" });
    expect(info?.reason).toBe(reason);
    expect(isTerminal(info?.state ?? "")).toBe(true);
  });

  it("ends the comment before the double space scontrol prints after it", () => {
    expect(parseScontrolShowJob(fixture("scontrol-failed.txt"))?.comment).toBe("hpcjob");
    expect(parseScontrolShowJob(fixture("scontrol-failed.txt"))?.stdout).toBe("/home/alice/fixtures/fail/job.log");
  });

  it("reads the multi-line form (without -o) the same way", () => {
    const multi = fixture("scontrol-failed.txt")
      .trimEnd()
      .replace(/ (?=(UserId|Priority|JobState|Requeue|RunTime|Command|WorkDir|Comment|StdErr|StdIn|StdOut|Power)=)/g, "\n   ");
    expect(parseScontrolShowJob(`${multi}\n\n`)).toEqual(parseScontrolShowJob(fixture("scontrol-failed.txt")));
  });

  it("keeps = and unknown words inside free-text values, and stops at the next known key", () => {
    const info = parseScontrolShowJob(
      "JobId=9 JobName=a b=c JobState=RUNNING Command=/x/y z=1/job.sh WorkDir=/x/y z=1 Comment=a=b c  StdOut=/o\n",
    );
    expect(info).toMatchObject({
      jobId: "9",
      state: "RUNNING",
      command: "/x/y z=1/job.sh",
      workDir: "/x/y z=1",
      comment: "a=b c",
      stdout: "/o",
    });
  });

  it("returns undefined when there is no job in the output", () => {
    expect(parseScontrolShowJob("")).toBeUndefined();
  });

  it("recognises an unknown job", () => {
    expect(fixture("scontrol-invalid-id.stderr.txt")).toBe("slurm_load_jobs error: Invalid job id specified\n");
    expect(isInvalidJobId(fixture("scontrol-invalid-id.stderr.txt"))).toBe(true);
    expect(isInvalidJobId(fixture("scontrol-controller-down.stderr.txt"))).toBe(false);
  });
});

describe("stderr", () => {
  it.each([
    ["squeue-controller-down.stderr.txt", "slurm_load_jobs error: Unable to contact slurm controller (connect failure)"],
    [
      "sbatch-controller-down.stderr.txt",
      "sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)",
    ],
    [
      "scancel-controller-down.stderr.txt",
      "scancel: error: Kill job error on job id 999999: Unable to contact slurm controller (connect failure)",
    ],
    ["scontrol-controller-down.stderr.txt", "slurm_load_jobs error: Unable to contact slurm controller (connect failure)"],
    ["sinfo-controller-down.stderr.txt", "slurm_load_partitions: Unable to contact slurm controller (connect failure)"],
    ["squeue-timeout.stderr.txt", "slurm_load_jobs error: Socket timed out on send/recv operation"],
    ["sbatch-timeout.stderr.txt", "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation"],
    ["scancel-timeout.stderr.txt", "scancel: error: Kill job error on job id 999999: Socket timed out on send/recv operation"],
    ["squeue-zero-bytes.stderr.txt", "slurm_load_jobs error: Zero Bytes were transmitted or received"],
  ])("%s says the controller does not answer", (file, text) => {
    expect(fixture(file)).toBe(`${text}\n`);
    expect(isControllerDown(fixture(file))).toBe(true);
    expect(isInvalidJobId(fixture(file))).toBe(false);
  });

  it.each([
    ["slurm_load_jobs error: Slurm backup controller in standby mode"],
    ["sbatch: error: Batch job submission failed: Controller is in standby mode, try a different controller"],
    ["slurm_load_jobs error: Unable to contact slurm controller (receive failure)"],
  ])("knows Slurm's other texts for an absent controller: %s", (text) => {
    expect(isControllerDown(text)).toBe(true);
  });

  it.each([
    ["squeue-invalid-id.stderr.txt"],
    ["sbatch-invalid-partition.stderr.txt"],
    ["scancel-denied.stderr.txt"],
    ["scontrol-invalid-id.stderr.txt"],
  ])("%s is not a controller problem", (file) => {
    expect(isControllerDown(fixture(file))).toBe(false);
  });

  it("recognises squeue's unknown job id", () => {
    expect(fixture("squeue-invalid-id.stderr.txt")).toBe("slurm_load_jobs error: Invalid job id specified\n");
    expect(isInvalidJobId(fixture("squeue-invalid-id.stderr.txt"))).toBe(true);
    expect(isInvalidJobId(fixture("scancel-denied.stderr.txt"))).toBe(false);
    expect(isInvalidJobId("")).toBe(false);
  });
});

describe("job states", () => {
  it.each([
    ["PENDING", "pending"],
    ["REQUEUE_HOLD", "pending"],
    ["CONFIGURING", "pending"],
    ["RUNNING", "running"],
    ["COMPLETING", "running"],
    ["SUSPENDED", "running"],
    ["COMPLETED", "terminal"],
    ["FAILED", "terminal"],
    ["CANCELLED", "terminal"],
    ["CANCELLED by 1001", "terminal"],
    ["CANCELLED+", "terminal"],
    ["TIMEOUT", "terminal"],
    ["NODE_FAIL", "terminal"],
    ["PREEMPTED", "terminal"],
    ["OUT_OF_MEMORY", "terminal"],
    ["BOOT_FAIL", "terminal"],
    ["DEADLINE", "terminal"],
    ["SOMETHING_NEW", "none"],
  ])("%s is %s", (state, kind) => {
    expect([isPending(state), isRunning(state), isTerminal(state)]).toEqual([kind === "pending", kind === "running", kind === "terminal"]);
  });

  it("reduces sacct's forms to the state name", () => {
    expect(baseState("CANCELLED by 1001")).toBe("CANCELLED");
    expect(baseState(" cancelled+ ")).toBe("CANCELLED");
  });
});

describe("pending reasons in words", () => {
  it("describes every reason recorded from the cluster", () => {
    const reasons = new Set(parseSqueue(fixture("squeue-user.txt")).map((e) => e.reason));
    reasons.add(parseSqueue(fixture("squeue-cancelled.txt"))[1]?.reason ?? "");
    for (const r of reasons) expect(describeReason(r), r).not.toBe(r);
  });

  it.each([
    ["Resources", "waiting for free resources (the GPUs/CPUs asked for are in use)"],
    ["Priority", "waiting behind jobs with a higher priority"],
    ["PartitionTimeLimit", "asks for more time than the partition allows and will not start; ask for less --time"],
    [
      "Nodes required for job are DOWN, DRAINED or reserved for jobs in higher priority partitions",
      expect.stringContaining("higher priority partition"),
    ],
    ["ReqNodeNotAvail, UnavailableNodes:gpu-node1", expect.stringContaining("down, drained or reserved")],
    ["ReqNodeNotAvail,_UnavailableNodes:gpu-node1", expect.stringContaining("down, drained or reserved")],
    ["launch_failed_requeued_held", expect.stringContaining("held it")],
    ["QOSGrpGRES", "waiting for a limit of your QOS"],
    ["AssocGrpGRES", "waiting: your account's GPUs are all in use by its other jobs"],
    ["AssocGrpMemLimit", "waiting for a limit of your account"],
  ])("%s", (reason, words) => {
    expect(describeReason(reason)).toEqual(words);
  });

  it("gives an unknown reason back unchanged", () => {
    expect(describeReason("SomeNewReason")).toBe("SomeNewReason");
    expect(describeReason("constructor")).toBe("constructor");
  });
});

describe("array task ids", () => {
  it("reads squeue's job ids: a task, a pending range with its limit, lists and steps; a plain job has no tasks", () => {
    expect(arrayTasks("123_4")).toEqual({ arrayId: "123", tasks: [4] });
    expect(arrayTasks("123_[0-3%2]")).toEqual({ arrayId: "123", tasks: [0, 1, 2, 3] });
    expect(arrayTasks("123_[1,5-6,10-14:2]")).toEqual({ arrayId: "123", tasks: [1, 5, 6, 10, 12, 14] });
    expect(arrayTasks("123")).toEqual({ arrayId: "123", tasks: [] });
  });

  it("reads a user's jobs from sacct as squeue would list them: the script from SubmitLine, no node for a job that never ran", () => {
    // The sbatch command line (SubmitLine) last here for reading; sacct prints it 9th, where squeue prints the script.
    const line = (...f: string[]) => [...f.slice(0, 8), f[11], ...f.slice(8, 11)].join(FIELD_SEP);
    const out = [
      line(
        "41",
        "COMPLETED",
        "None",
        "gpu-node1",
        "2026-11-23T21:06:19",
        "train",
        "alice",
        "",
        "00:01:02",
        "01:00:00",
        "gpu",
        "sbatch --parsable /home/alice/.hpcjob/runs/20261123-210414-train/job.sbatch",
      ),
      line(
        "42",
        "CANCELLED by 1001",
        "None",
        "None assigned",
        "Unknown",
        "jupyter",
        "alice",
        "hpcjob",
        "00:00:00",
        "04:00:00",
        "gpu",
        "sbatch --parsable /home/alice/.hpcjob/runs/x/job.sbatch",
      ),
      line(
        "43_2",
        "TIMEOUT",
        "None",
        "gpu-node1",
        "2026-11-23T21:07:00",
        "sweep",
        "alice",
        "",
        "00:10:00",
        "00:10:00",
        "gpu",
        "sbatch --parsable /home/alice/.hpcjob/runs/y/job-0.sbatch",
      ),
      line(
        "44",
        "FAILED",
        "NonZeroExitCode",
        "gpu-node1",
        "2026-11-23T21:08:00",
        "wrap",
        "alice",
        "",
        "00:00:01",
        "00:10:00",
        "gpu",
        "sbatch --wrap=true",
      ),
      "",
    ].join("\n");
    const jobs = parseSacctHistory(out);
    expect(jobs.map((j) => [j.jobId, j.state, j.node, j.script, j.comment])).toEqual([
      ["41", "COMPLETED", "gpu-node1", "/home/alice/.hpcjob/runs/20261123-210414-train/job.sbatch", ""],
      ["42", "CANCELLED", undefined, "/home/alice/.hpcjob/runs/x/job.sbatch", "hpcjob"],
      ["43_2", "TIMEOUT", "gpu-node1", "/home/alice/.hpcjob/runs/y/job-0.sbatch", ""],
      ["44", "FAILED", "gpu-node1", undefined, ""],
    ]);
    expect(jobs[0]).toMatchObject({ timeUsed: "00:01:02", timeLimit: "01:00:00", partition: "gpu", name: "train", user: "alice" });
    expect(sacctHistoryArgv("alice", "now-7days")).toEqual([
      "sacct",
      "-n",
      "-P",
      "-X",
      `--delimiter=${FIELD_SEP}`,
      "--user=alice",
      "--starttime=now-7days",
      "--format=JobID,State,Reason,NodeList,Start,JobName,User,Comment,SubmitLine,Elapsed,Timelimit,Partition",
    ]);
  });

  it("reads sacct's lines of array tasks, CANCELLED by UID shortened, other lines left out", () => {
    expect(
      parseSacct("7_0|COMPLETED|0:0\n7_1|CANCELLED by 0|0:15\n7_[2-3]|PENDING|0:0\nJobID|State|ExitCode\n7_4|OUT_OF_MEMORY|0:125\n"),
    ).toEqual([
      { jobId: "7_0", state: "COMPLETED", exitCode: 0 },
      { jobId: "7_1", state: "CANCELLED", exitCode: 0, signal: 15 },
      { jobId: "7_4", state: "OUT_OF_MEMORY", exitCode: 0, signal: 125 },
    ]);
  });
});
