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
import { fakeContext } from "./fakeCluster.js";

const FIXTURES = join(ROOT, "test", "fixtures", "slurm");

/** A login node that answers the probe, then doctor's second script with `answers`. */
function loginNode(answers: string): FakeExecutor {
  return new FakeExecutor(new FakeClock(), {
    bash: (argv) =>
      ok(readFileSync(join(FIXTURES, argv[2]?.includes("scontrol show config") ? "detect-probe-login.txt" : answers), "utf8")),
  });
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

  it("refuses to guess a cluster before touching any", async () => {
    const exec = loginNode("doctor-answers-alice.txt");
    await expect(doctor({ local: true }, fakeContext(exec))).rejects.toThrow(
      new UsageError("no cluster to check: pass --cluster NAME, or set cluster: NAME in ~/.config/hpcjob/config.yaml"),
    );
    expect(exec.calls).toHaveLength(0);
  });
});
