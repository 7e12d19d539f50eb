/**
 * `clusters doctor` in process, on output recorded from the loopback cluster
 * (the probe detect recorded, doctor's answers with accounting enforced):
 * which profile it checks, what it asks in how many round trips, and its
 * exit code. The judgement itself is test/unit/doctor.test.ts's.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { doctor } from "../../src/commands/doctor.js";
import { UsageError } from "../../src/core/errors.js";
import { FakeClock, FakeExecutor, ok } from "../fakes.js";
import { ROOT } from "../helpers.js";
import { FakeCluster, type FakeJob, fakeContext } from "./fakeCluster.js";

const FIXTURES = join(ROOT, "test", "fixtures", "slurm");

/** A login node that answers the probe, then doctor's second script with `answers`. */
function loginNode(answers: string): FakeExecutor {
  return new FakeExecutor(new FakeClock(), {
    bash: (argv) =>
      ok(readFileSync(join(FIXTURES, argv[2]?.includes("scontrol show config") ? "detect-probe-login.txt" : answers), "utf8")),
  });
}

/** A fake cluster that answers the probe and alice's answers, and whose jobs `run` moves on when submitted (given their log's path). */
function jobCluster(run: (job: FakeJob, log: string) => void): FakeCluster {
  const cluster = new FakeCluster();
  cluster.handlers.bash = (argv) =>
    ok(
      readFileSync(
        join(FIXTURES, argv[2]?.includes("scontrol show config") ? "detect-probe-login.txt" : "doctor-answers-alice.txt"),
        "utf8",
      ),
    );
  cluster.onSubmit = (job) => {
    const log = /^#SBATCH --output=(\S+)$/m.exec(cluster.files.get(job.script) ?? "")?.[1] ?? "";
    job.node = "gpu-node1";
    run(job, log);
  };
  return cluster;
}

describe("clusters doctor", () => {
  it("checks --cluster's profile in two round trips and exits 1 on its stale time limit", async () => {
    const exec = loginNode("doctor-answers-alice.txt");
    const done = await doctor({ local: true, cluster: "loopback" }, fakeContext(exec));
    expect(exec.calls).toHaveLength(2);
    // No account set: none is tried, and the GPU forms are tried as detect tries them.
    expect(exec.calls[1]?.argv[2]).not.toContain("--account");
    expect(exec.calls[1]?.argv[2]).toContain("sacctmgr -nP show assoc");
    expect(done.exitCode).toBe(1);
    expect(done.data.cluster).toBe("loopback");
    expect(done.data.findings.filter((f) => !f.ok)).toEqual([
      {
        kind: "time",
        ok: false,
        text: "partition short's maxTime 02:00:00 is above the cluster's MaxTime 01:00:00",
        fix: "slurm.partitions[1].maxTime: 01:00:00",
      },
    ]);
  });

  it("checks config.yaml's default cluster with its account, and names the user's own accounts", async () => {
    const exec = loginNode("doctor-answers-not-member.txt");
    const ctx = fakeContext(exec);
    mkdirSync(join(ctx.home, ".config", "hpcjob"), { recursive: true });
    writeFileSync(join(ctx.home, ".config", "hpcjob", "config.yaml"), "cluster: loopback\nclusters:\n  loopback: {account: lab-c}\n");
    const done = await doctor({ local: true }, ctx);
    expect(exec.calls[1]?.argv[2]).toContain("--account=lab-c");
    expect(done.exitCode).toBe(1);
    expect(done.data.findings.find((f) => f.kind === "account")).toMatchObject({
      ok: false,
      text: "account lab-c: you are not in it; yours: lab-a, lab-b",
    });
  });

  it("exits 0 when every check holds", async () => {
    const ctx = fakeContext(loginNode("doctor-answers-alice.txt"));
    const dir = join(ctx.home, "profiles");
    mkdirSync(dir);
    writeFileSync(join(dir, "loopback-detected.yaml"), readFileSync(join(ROOT, "test", "golden", "loopback.detected.yaml"), "utf8"));
    ctx.env.HPCJOB_CLUSTERS = dir;
    const done = await doctor({ local: true, cluster: "loopback-detected" }, ctx);
    expect(done.data.findings.filter((f) => !f.ok)).toEqual([]);
    expect(done.exitCode).toBeUndefined();
  });

  it("--job runs one job per GPU partition, watched together, reports each version, and removes its folder", async () => {
    const cluster = jobCluster((job, log) => {
      cluster.files.set(log, "apptainer version 1.3.4\n");
      job.state = "COMPLETED";
    });
    const done = await doctor({ local: true, cluster: "loopback", job: true }, fakeContext(cluster));
    const jobs = done.data.findings.filter((f) => f.kind === "job");
    expect(jobs).toEqual(
      ["gpu", "short", "cpu"].map((p, i) => ({
        kind: "job",
        ok: true,
        text: `partition ${p}: job ${4242 + i} ran apptainer --version on a compute node: apptainer version 1.3.4`,
      })),
    );
    const script = [...cluster.jobs.values()][0]?.script ?? "";
    expect(script).toMatch(/^\/home\/alice\/\.hpcjob\/doctor-[^/]+\/gpu\.sbatch$/);
    // One squeue call for all three jobs; the folder goes afterwards, and no job is left to cancel.
    expect(cluster.callsOf("squeue")).toHaveLength(1);
    expect(cluster.callsOf("rm").map((c) => c.argv)).toEqual([["rm", "-rf", "--", script.slice(0, script.lastIndexOf("/"))]]);
    expect(cluster.callsOf("scancel")).toHaveLength(0);
  });

  it("--job reports a job that could not run the runtime, with the log's words and the fix", async () => {
    const cluster = jobCluster((job, log) => {
      cluster.files.set(log, "/var/spool/slurmd/job4242/slurm_script: line 9: apptainer: command not found\n");
      job.state = "FAILED";
      job.exitCode = 127;
    });
    const done = await doctor({ local: true, cluster: "loopback", job: true }, fakeContext(cluster));
    expect(done.exitCode).toBe(1);
    expect(done.data.findings.find((f) => f.kind === "job")).toEqual({
      kind: "job",
      ok: false,
      text: "partition gpu: job 4242 FAILED, exit code 127: /var/spool/slurmd/job4242/slurm_script: line 9: apptainer: command not found",
      fix: "make apptainer available on the compute nodes (environment.modules or environment.setup in the profile)",
    });
  });

  it("refuses to guess a cluster before touching any", async () => {
    const exec = loginNode("doctor-answers-alice.txt");
    await expect(doctor({ local: true }, fakeContext(exec))).rejects.toThrow(
      new UsageError("no cluster to check: pass --cluster NAME, or set cluster: NAME in ~/.config/hpcjob/config.yaml"),
    );
    expect(exec.calls).toHaveLength(0);
  });
});
