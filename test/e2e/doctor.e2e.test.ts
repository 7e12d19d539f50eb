/**
 * `clusters doctor` on the loopback cluster as alice, with accounting
 * enforced (accounts lab-a and lab-b are hers): a profile gone stale in four
 * ways is reported line by line with fixes (exit 1); the profile `clusters
 * detect` writes passes (exit 0) on the login node and from the laptop over
 * one SSH connection; `--job` runs a real job on each GPU partition that
 * prints the runtime's version, and leaves nothing behind. Fails, never
 * skips, without the cluster.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { aliceLogins, cancelAll, hpcjob, LOGIN_ALIAS, laptopEnv, requireCluster, STAGE, stage } from "./harness.js";

const FOLDER = "/home/alice/doctor-clusters";
/** The folder of profiles first on the search path, then the test profiles. */
const ENV = { HPCJOB_CLUSTERS: `${FOLDER}:${STAGE}/clusters` };

/** A shell line as alice (setup only). */
function asAlice(script: string, ...args: string[]): void {
  const r = spawnSync("runuser", ["-u", "alice", "--", "bash", "-c", script, "x", ...args], { cwd: "/", encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
}

beforeAll(() => {
  requireCluster();
  cancelAll();
  stage();
  asAlice(`mkdir -p ~/work && rm -rf "$1" && mkdir -p "$1"`, FOLDER);
  asAlice(
    `touch ~/.ssh/config && chmod 600 ~/.ssh/config && (grep -q '^Host hpcjob-login$' ~/.ssh/config || printf '%s' "$1" >> ~/.ssh/config)`,
    LOGIN_ALIAS,
  );
  // The profile detect writes on the login node, and one gone stale: a partition, a GPU type, a time limit and an account that no longer hold.
  const w = hpcjob("alice", ["clusters", "detect", "-o", `${FOLDER}/loopback-detected.yaml`], { env: ENV });
  expect(w.status, w.stderr).toBe(0);
  const stale = parseDocument(readFileSync(`${FOLDER}/loopback-detected.yaml`, "utf8"));
  stale.set("name", "loopback-stale");
  stale.setIn(["slurm", "partitions", 2, "name"], "bigmem");
  stale.setIn(["slurm", "account"], { default: "lab-c" });
  stale.setIn(["slurm", "partitions", 0, "gpus", 0, "type"], "H100");
  stale.setIn(["slurm", "partitions", 1, "maxTime"], "02:00:00");
  writeFileSync(`${FOLDER}/loopback-stale.yaml`, stale.toString());
  expect(spawnSync("chown", ["alice:", `${FOLDER}/loopback-stale.yaml`]).status).toBe(0);
});
afterAll(() => cancelAll());

describe("clusters doctor", () => {
  it("reports a wrong partition, GPU type, time limit and an account alice is not in, each with its fix, and exits 1", () => {
    const r = hpcjob("alice", ["clusters", "doctor", "--cluster", "loopback-stale"], { env: ENV });
    expect(r.status, r.stderr).toBe(1);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toContain(
      "partition: slurm.partitions[2] lists partition bigmem, which the cluster does not have; fix: remove it, or rename it to one of: gpu, short, cpu",
    );
    expect(lines).toContain(
      "gpu: partition gpu lists type H100, which its nodes do not have (sinfo: A40 x2, T4 x1); fix: slurm.partitions[0].gpus[0].type: one of A40, T4",
    );
    expect(lines).toContain(
      "time: partition short's maxTime 02:00:00 is above the cluster's MaxTime 01:00:00; fix: slurm.partitions[1].maxTime: 01:00:00",
    );
    expect(lines).toContain(
      "account: account lab-c: you are not in it; yours: lab-a, lab-b; fix: set account: lab-a (one of yours) in ~/.config/hpcjob/config.yaml or the profile's slurm.account.default",
    );
    expect(lines.at(-1)).toMatch(/^loopback-stale: 4 of \d+ checks failed$/);

    const j = hpcjob("alice", ["clusters", "doctor", "--cluster", "loopback-stale", "--json"], { env: ENV });
    expect(j.status).toBe(1);
    const out = JSON.parse(j.stdout) as { ok: boolean; findings: { kind: string; ok: boolean; fix?: string }[] };
    expect(out.ok).toBe(false);
    expect(out.findings.filter((f) => !f.ok).map((f) => f.kind)).toEqual(["partition", "gpu", "time", "account"]);
    expect(out.findings.filter((f) => !f.ok).every((f) => f.fix)).toBe(true);
  });

  it("passes the profile clusters detect wrote, with a one-line summary", () => {
    const r = hpcjob("alice", ["clusters", "doctor", "--cluster", "loopback-detected"], { env: ENV });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^loopback-detected: \d+ checks passed\n$/);
  });

  it("from the laptop checks over one SSH connection, and passes the profile detect wrote there", () => {
    const env = { ...laptopEnv(), ...ENV };
    const file = `${FOLDER}/loopback-laptop.yaml`;
    const w = hpcjob("alice", ["clusters", "detect", "--remote", "hpcjob-login", "-o", file], { env });
    expect(w.status, w.stderr).toBe(0);
    const before = aliceLogins();
    const r = hpcjob("alice", ["clusters", "doctor", "--cluster", "loopback-laptop"], { env });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(aliceLogins() - before).toBe(1);
    expect(r.stdout).toMatch(/^loopback-laptop: \d+ checks passed\n$/);
  });

  it("--job runs a real job on each GPU partition that prints the runtime's version, and leaves nothing behind", () => {
    const r = hpcjob("alice", ["clusters", "doctor", "--cluster", "loopback-detected", "--job"], { env: ENV, timeoutMs: 180_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    for (const p of ["gpu", "short", "cpu"]) {
      expect(r.stdout).toMatch(
        new RegExp(
          `^job: partition ${p}: job \\d+ ran apptainer --version on a compute node: apptainer version 1\\.3\\.4-hpcjob-standin$`,
          "m",
        ),
      );
    }
    expect(r.stdout.trim().split("\n").at(-1)).toMatch(/^loopback-detected: \d+ checks passed$/);
    expect(readdirSync("/home/alice/.hpcjob").filter((n) => n.startsWith("doctor-"))).toEqual([]);
    expect(readdirSync("/home/alice/.hpcjob/images").filter((n) => n.startsWith(".hpcjob-doctor"))).toEqual([]);
  }, 200_000);
});
