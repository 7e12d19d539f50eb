/**
 * `clusters detect` on the loopback cluster, as alice: on the login node and
 * from her "laptop" over SSH (no Slurm command there). What it finds is what
 * test/cluster/start.sh set up (partitions gpu, short and cpu; A40 x2 and
 * T4 x1 per node), and the profile it writes validates and runs a real
 * Jupyter job unchanged. Fails, never skips, without the cluster.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClusterFacts } from "../../src/slurm/detect.js";
import {
  aliceLogins,
  cancelAll,
  hpcjob,
  imagePaths,
  LOGIN_ALIAS,
  laptopEnv,
  NODE,
  requireCluster,
  STAGE,
  stage,
  testImages,
} from "./harness.js";

const FOLDER = "/home/alice/detected-clusters";
const FILE = `${FOLDER}/loopback-detected.yaml`;
/** The folder of detected profiles first on the search path, then the test profiles. */
const ENV = { HPCJOB_CLUSTERS: `${FOLDER}:${STAGE}/clusters` };

/** A shell line as alice (setup only). */
function asAlice(script: string, ...args: string[]): void {
  const r = spawnSync("runuser", ["-u", "alice", "--", "bash", "-c", script, "x", ...args], { cwd: "/", encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
}

/** What both places must find on the loopback cluster. */
function expectLoopback(facts: ClusterFacts): void {
  expect(facts.clusterName).toBe("hpcjob-test");
  expect(facts.slurmVersion).toMatch(/^\d+\.\d+\.\d+/);
  expect(facts.partitions.map((p) => [p.name, p.isDefault, p.maxTime])).toEqual([
    ["gpu", true, "2-00:00:00"],
    ["short", false, "01:00:00"],
    ["cpu", false, "7-00:00:00"],
  ]);
  for (const p of facts.partitions) {
    expect(p.nodes.map((n) => n.gpus)).toEqual([
      [
        { type: "A40", count: 2 },
        { type: "T4", count: 1 },
      ],
    ]);
  }
  expect(facts.gpuProbe).toEqual({ partition: "gpu", type: "A40" });
  expect(facts.gpuForms["gpus-per-node"]?.accepted, facts.gpuForms["gpus-per-node"]?.said).toBe(true);
  expect(facts.mem?.accepted).toBe(true);
  expect(facts.maxArraySize).toBeGreaterThan(0);
}

beforeAll(() => {
  requireCluster();
  cancelAll();
  stage();
  testImages("alice");
  asAlice(`mkdir -p ~/work && rm -rf "$1" && mkdir -p "$1"`, FOLDER);
  // The same alias remote.e2e.test.ts writes, added when that test has not run.
  asAlice(
    `touch ~/.ssh/config && chmod 600 ~/.ssh/config && (grep -q '^Host hpcjob-login$' ~/.ssh/config || printf '%s' "$1" >> ~/.ssh/config)`,
    LOGIN_ALIAS,
  );
});
afterAll(() => cancelAll());

describe("clusters detect", () => {
  it("on the login node finds the partitions, limits, GPUs, the GPU form and the runtime", () => {
    const r = hpcjob("alice", ["clusters", "detect", "--json"], { env: ENV });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { facts: ClusterFacts; profile: string };
    expectLoopback(out.facts);
    // The stand-in Apptainer is first on the test users' PATH; Charliecloud's ch-run is installed.
    expect(out.facts.runtimes.map((x) => x.name)).toEqual(["apptainer", "singularity", "enroot", "charliecloud"]);
    expect(out.profile).toMatch(/^ {2}runtime: apptainer /m);
    expect(out.profile).toMatch(/^ {2}gpuDirective: gpus-per-node /m);
  });

  it("from the laptop over one SSH connection finds the same cluster, and the runtime on the login node's PATH", () => {
    const before = aliceLogins();
    const r = hpcjob("alice", ["clusters", "detect", "--remote", "hpcjob-login", "--json"], { env: { ...laptopEnv(), ...ENV } });
    expect(r.status, r.stderr).toBe(0);
    expect(aliceLogins() - before).toBe(1);
    const out = JSON.parse(r.stdout) as { facts: ClusterFacts; profile: string };
    expectLoopback(out.facts);
    // Over SSH the stand-ins are not on PATH (loopback-remote.yaml puts them there for jobs): only ch-run is.
    expect(out.facts.runtimes.map((x) => x.name)).toEqual(["charliecloud"]);
    expect(out.profile).toMatch(/^ {2}host: hpcjob-login /m);

    // Written on the laptop, it validates there too.
    const file = `${FOLDER}/loopback-laptop.yaml`;
    const w = hpcjob("alice", ["clusters", "detect", "--remote", "hpcjob-login", "-o", file], { env: { ...laptopEnv(), ...ENV } });
    expect(w.status, w.stderr).toBe(0);
    const v = hpcjob("alice", ["clusters", "validate", file], { env: { ...laptopEnv(), ...ENV } });
    expect(v.status, v.stderr).toBe(0);
  });

  it("writes a profile that clusters validate accepts and that runs a Jupyter job unchanged", async () => {
    const w = hpcjob("alice", ["clusters", "detect", "-o", FILE], { env: ENV });
    expect(w.status, w.stderr).toBe(0);
    expect(w.stdout).toContain(`wrote ${FILE}`);
    const written = readFileSync(FILE, "utf8");
    expect(written).toMatch(/^name: loopback-detected /m);

    const again = hpcjob("alice", ["clusters", "detect", "-o", FILE], { env: ENV });
    expect(again.status).toBe(2);
    expect(again.stderr).toContain("exists already; review it, then pass --force");
    expect(readFileSync(FILE, "utf8")).toBe(written);

    const v = hpcjob("alice", ["clusters", "validate", FILE], { env: ENV });
    expect(v.status, v.stderr).toBe(0);

    const j = hpcjob(
      "alice",
      ["jupyter", "--cluster", "loopback-detected", "--image", imagePaths("alice").sif, "--json", "--timeout", "2m"],
      {
        env: ENV,
        timeoutMs: 180_000,
      },
    );
    expect(j.status, j.stderr).toBe(0);
    const job = JSON.parse(j.stdout) as { jobId: string; node: string; port: number; token: string };
    expect(job.node).toBe(NODE);
    // Ready: Jupyter answers on the compute node (gpu-node1 is 127.0.1.1 on this machine; a loopback address, as Jupyter wants) with the token.
    expect((await fetch(`http://127.0.1.1:${job.port}/api/status?token=${job.token}`)).status).toBe(200);
    const c = hpcjob("alice", ["cancel", job.jobId, "--cluster", "loopback-detected"], { env: ENV });
    expect(c.status, c.stderr).toBe(0);
  }, 200_000);
});
