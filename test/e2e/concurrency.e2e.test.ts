/**
 * Runs started at the same moment: eight `hpcjob batch` with the same name
 * in the same second each get a run directory and a job of their own, with
 * their own arguments (run directories are taken by creating them), each
 * inside the real test image.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cancelAll, jobState, requireCluster, stage, startHpcjob, testImages, until } from "./harness.js";

let IMAGE = "";

beforeAll(() => {
  requireCluster();
  cancelAll();
  stage();
  expect(spawnSync("runuser", ["-u", "alice", "--", "mkdir", "-p", "/home/alice/work"], { cwd: "/" }).status).toBe(0);
  IMAGE = testImages("alice").sif;
});
afterAll(() => cancelAll());

describe("eight submissions at once", () => {
  it("give eight run directories and eight jobs, each running its own arguments", async () => {
    const runs = Array.from({ length: 8 }, (_, i) =>
      startHpcjob("alice", [
        "batch",
        "--cluster",
        "loopback",
        "--image",
        IMAGE,
        "--name",
        "race",
        "--json",
        "--",
        "sh",
        "-c",
        'echo "$1 in $HPCJOB_TEST_IMAGE"',
        "sh",
        `argument-${i}`,
      ]),
    );
    const codes = await Promise.all(runs.map((r) => r.done));
    for (const [i, code] of codes.entries()) expect(code, runs[i]?.stderr()).toBe(0);
    const results = runs.map((r) => JSON.parse(r.stdout()) as { jobId: string; runDir: string });
    expect(new Set(results.map((r) => r.runDir)).size).toBe(8);
    expect(new Set(results.map((r) => r.jobId)).size).toBe(8);
    // They raced for the same names: some run directories got a -2, -3 ... suffix.
    expect(results.some((r) => /-race-\d+$/.test(r.runDir))).toBe(true);

    for (const [i, r] of results.entries()) {
      const script = readFileSync(join(r.runDir, "job.sbatch"), "utf8");
      expect(script).toContain(`argument-${i}`);
      expect(script.match(/argument-\d/g)).toEqual([`argument-${i}`]);
      expect(readFileSync(join(r.runDir, "job.id"), "utf8").trim()).toBe(r.jobId);
    }
    await until(
      "all eight jobs to end",
      () => results.every((r) => !/PENDING|RUNNING|COMPLETING|CONFIGURING/.test(jobState(r.jobId))),
      90_000,
      500,
    );
    for (const [i, r] of results.entries()) {
      const log = readFileSync(join(r.runDir, "job.log"), "utf8");
      expect(log).toMatch(new RegExp(`^argument-${i} in jupyter$`, "m"));
      expect(log).toContain("hpcjob: the program exited with code 0");
    }
  });
});
