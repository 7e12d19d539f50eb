/**
 * Every command in process against a fake cluster (no processes, no Slurm,
 * no SSH): what it submits, writes, reads and returns, and that a dry run
 * connects to nothing. The same commands run for real in test/e2e.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { describe, expect, it } from "vitest";
import { batch } from "../../src/commands/batch.js";
import { list, show, validate } from "../../src/commands/clusters.js";
import { attach, cancel, logs, ps } from "../../src/commands/jobs.js";
import { jupyter } from "../../src/commands/jupyter.js";
import { remoteInstall } from "../../src/commands/remote.js";
import { loadProfile } from "../../src/profile/load.js";
import type { Payload } from "../../src/request/build.js";
import { recordText, runRecord } from "../../src/runs/record.js";
import { FIELD_SEP, sacctHistoryArgv } from "../../src/slurm/index.js";
import { fail, type Handler, ok, squeueRow } from "../fakes.js";
import { ROOT, requestFor } from "../helpers.js";
import { FakeCluster, ForwardingCluster, fakeContext, runFileOf } from "./fakeCluster.js";

const IMAGE = "/home/alice/images/x.sif";
const RUNS = "/home/alice/.hpcjob/runs";
const LOOPBACK = { cluster: "loopback", image: IMAGE };

/** A fake cluster that has the test image. */
function withImage(cluster = new FakeCluster()): FakeCluster {
  cluster.files.set(IMAGE, "SIF");
  return cluster;
}

/** A run directory of an earlier job in the fake cluster's home. */
function earlierRun(cluster: FakeCluster, name: string, jobId: string, files: Record<string, string> = {}): string {
  const dir = posix.join(RUNS, name);
  cluster.files.set(`${dir}/`, "");
  cluster.files.set(posix.join(dir, "job.id"), `${jobId}\n`);
  for (const [file, text] of Object.entries(files)) cluster.files.set(posix.join(dir, file), text);
  return dir;
}

describe("batch", () => {
  it("plans, connects once, binds the job to the cluster home and submits it with its run directory", async () => {
    const cluster = withImage();
    const ctx = fakeContext(cluster);
    const done = await batch(["train.py", "--lr", "3e-4"], false, LOOPBACK, ctx);
    const runDir = `${RUNS}/20261123-101500-train`;
    expect(done.data).toEqual({ jobId: "4242", cluster: "loopback", runDir, log: `${runDir}/job.log` });
    expect(ctx.placements).toEqual([{ where: "ssh", destination: "127.0.0.1", defaultPort: 2222, acceptNewHost: false }]);
    const script = runFileOf(cluster, runDir, "job.sbatch") ?? "";
    expect(script).toContain("#SBATCH --chdir=/home/alice/work\n");
    expect(script).toContain(`#SBATCH --output=${runDir}/job.log\n`);
    expect(script).toMatch(/HPCJOB_COMMAND=\(\n {2}python3\n {2}train\.py\n {2}--lr\n {2}3e-4\n\)/);
    expect(cluster.modes.get(`${runDir}/job.sbatch`)).toBe(0o600);
    expect(JSON.parse(runFileOf(cluster, runDir, "request.json") ?? "")).toMatchObject({
      request: { kind: "batch", cluster: "loopback", workdir: "/home/alice/work", image: IMAGE },
      login: { host: "login.example.org", user: "alice" },
    });
    expect(cluster.modes.get(`${runDir}/request.json`)).toBe(0o600);
    expect(runFileOf(cluster, runDir, "job.id")).toBe("4242\n");
    expect(cluster.callsOf("sbatch").map((c) => c.argv)).toEqual([["sbatch", "--parsable", `${runDir}/job.sbatch`]]);
  });

  it("a dry run connects to nothing and says its paths are this computer's", async () => {
    const ctx = fakeContext(new FakeCluster(), { cwd: "/home/me/project" });
    const done = await batch(["train.py"], false, { ...LOOPBACK, dryRun: true }, ctx);
    expect(ctx.placements).toEqual([]);
    expect((done.data as { script: string }).script).toContain("#SBATCH --chdir=/home/me/project\n");
    expect(ctx.events).toContainEqual(
      expect.objectContaining({ kind: "note", text: expect.stringMatching(/^dry run on a computer without Slurm/) }),
    );
  });

  it("a relative image is the cluster's, from the folder the job runs in", async () => {
    const cluster = new FakeCluster();
    cluster.files.set("/home/alice/work/imgs/t.sif", "SIF");
    const done = await batch(["train.py"], false, { cluster: "loopback", image: "imgs/t.sif" }, fakeContext(cluster));
    const script = runFileOf(cluster, (done.data as { runDir: string }).runDir, "job.sbatch") ?? "";
    expect(script).toContain("/home/alice/work/imgs/t.sif");
  });

  it("checks the image on the cluster before anything is created or submitted", async () => {
    const cluster = new FakeCluster();
    await expect(batch(["train.py"], false, LOOPBACK, fakeContext(cluster))).rejects.toThrow(
      `image ${IMAGE} does not exist on the cluster; convert or copy it there first, or fix --image`,
    );
    expect(cluster.runDirs()).toEqual([]);
    expect(cluster.callsOf("sbatch")).toEqual([]);
  });

  it("keeps the script when sbatch refuses, and says where it is", async () => {
    const cluster = withImage();
    cluster.handlers.sbatch = () => ({
      code: 1,
      stdout: "",
      stderr: "sbatch: error: Invalid account or account/partition combination specified\n",
    });
    const err = await batch(["train.py"], false, LOOPBACK, fakeContext(cluster)).catch((e) => e);
    expect(err.exitCode).toBe(1);
    expect(err.message).toMatch(
      /^sbatch refused the job: sbatch: error: Invalid account .*; the cluster accepts jobs only under a Slurm account you are in, .*sacctmgr -nP show assoc user=\$USER format=account,partition and pass --account .*; the script is \/home\/alice\/\.hpcjob\/runs\/.*\/job\.sbatch$/,
    );
    expect(runFileOf(cluster, cluster.runDirs()[0] ?? "", "job.sbatch")).toContain("#!/bin/bash");
  });

  it("--follow streams the log and ends with the program's exit code", async () => {
    const cluster = withImage();
    cluster.onSubmit = (job) => {
      job.state = "COMPLETED";
      cluster.files.set(job.script.replace(/job\.sbatch$/, "job.log"), "epoch 1\nhpcjob: the program exited with code 3\n");
    };
    const ctx = fakeContext(cluster);
    const done = await batch(["train.py"], false, { ...LOOPBACK, follow: true }, ctx);
    expect(ctx.streamed).toBe("epoch 1\nhpcjob: the program exited with code 3\n");
    expect(done.exitCode).toBe(3);
    expect(done.data).toMatchObject({ jobId: "4242", state: "COMPLETED", exitCode: 3 });
  });
});

describe("batch --sweep", () => {
  const SWEEP = { ...LOOPBACK, sweep: ["lr=1e-3,1e-4", "seed=0..2"] };

  it("submits a 2x3 sweep as one array over its table, per-task logs, and records the array", async () => {
    const cluster = withImage();
    const done = await batch(["train.py", "--epochs", "3"], false, { ...SWEEP, maxParallel: "2" }, fakeContext(cluster));
    const runDir = `${RUNS}/20261123-101500-train`;
    expect(done.data).toMatchObject({
      jobId: "4242",
      points: 6,
      arrays: [{ jobId: "4242", offset: 0, count: 6, script: `${runDir}/job.sbatch` }],
    });
    expect(cluster.callsOf("sbatch").map((c) => c.argv)).toEqual([["sbatch", "--parsable", `${runDir}/job.sbatch`]]);
    expect(cluster.callsOf("scontrol").map((c) => c.argv)).toEqual([["scontrol", "show", "config"]]);
    const script = runFileOf(cluster, runDir, "job.sbatch") ?? "";
    expect(script).toContain("#SBATCH --array=0-5%2\n");
    expect(script).toContain(`#SBATCH --output=${runDir}/logs/%A_%a.log\n`);
    expect(script).toMatch(/^HPCJOB_POINT=\$\(\( 0 \+ \$\{SLURM_ARRAY_TASK_ID:-0\} \)\)$/m);
    expect(script).not.toContain("#SBATCH --hold");
    expect(cluster.files.has(`${runDir}/logs/`)).toBe(true);
    const table = (runFileOf(cluster, runDir, "points.jsonl") ?? "")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(table[4]).toEqual({ index: 4, params: { lr: "1e-4", seed: "1" } });
    expect(runFileOf(cluster, runDir, "points.nul")).toBe("1e-3\x000\x001e-3\x001\x001e-3\x002\x001e-4\x000\x001e-4\x001\x001e-4\x002\x00");
    expect(JSON.parse(runFileOf(cluster, runDir, "arrays.json") ?? "")).toEqual({
      points: 6,
      arrays: [{ jobId: "4242", offset: 0, count: 6, script: `${runDir}/job.sbatch` }],
    });
    expect(runFileOf(cluster, runDir, "job.id")).toBe("4242\n");
  });

  it("splits a sweep larger than MaxArraySize into arrays with offsets, held, asking the configuration once", async () => {
    const cluster = withImage();
    cluster.maxArraySize = 1001;
    const done = await batch(["train.py"], false, { ...LOOPBACK, sweep: ["i=0..2499"], hold: true }, fakeContext(cluster));
    const runDir = `${RUNS}/20261123-101500-train`;
    const scripts = [`${runDir}/job.sbatch`, `${runDir}/job-1001.sbatch`, `${runDir}/job-2002.sbatch`];
    expect(cluster.callsOf("sbatch").map((c) => c.argv[2])).toEqual(scripts);
    expect(cluster.callsOf("scontrol")).toHaveLength(1);
    expect((done.data as { arrays: unknown[] }).arrays).toEqual([
      { jobId: "4242", offset: 0, count: 1001, script: scripts[0] },
      { jobId: "4243", offset: 1001, count: 1001, script: scripts[1] },
      { jobId: "4244", offset: 2002, count: 498, script: scripts[2] },
    ]);
    const third = cluster.files.get(scripts[2] as string) ?? "";
    expect(third).toContain("#SBATCH --array=0-497\n");
    expect(third).toContain("#SBATCH --hold\n");
    expect(third).toMatch(/^HPCJOB_POINT=\$\(\( 2002 \+ \$\{SLURM_ARRAY_TASK_ID:-0\} \)\)$/m);
  });

  it("an sbatch refusal part-way cancels the arrays submitted before it and says so", async () => {
    const cluster = withImage();
    cluster.maxArraySize = 4;
    const sbatch = cluster.handlers.sbatch as Handler;
    cluster.handlers.sbatch = (argv: readonly string[]) =>
      cluster.callsOf("sbatch").length === 3 ? { code: 1, stdout: "", stderr: "sbatch: error: AssocMaxSubmitJobLimit\n" } : sbatch(argv);
    const err = await batch(["train.py"], false, { ...LOOPBACK, sweep: ["i=1..10"] }, fakeContext(cluster)).catch((e) => e);
    expect(err.exitCode).toBe(1);
    expect(err.message).toMatch(
      /^sbatch refused the job: sbatch: error: AssocMaxSubmitJobLimit; the script is .*\/job-8\.sbatch; cancelled the arrays submitted before it \(4242, 4243\)$/,
    );
    expect(cluster.callsOf("scancel").map((c) => c.argv)).toEqual([["scancel", "4242", "4243"]]);
    expect(cluster.job("4242").state).toBe("CANCELLED");
    expect(runFileOf(cluster, cluster.runDirs()[0] ?? "", "arrays.json")).toBeUndefined();
  });

  it("a dry run shows the array script and the first points, and connects to nothing", async () => {
    const ctx = fakeContext(new FakeCluster());
    const done = await batch(["train.py"], false, { ...SWEEP, sweepStyle: "hydra", dryRun: true }, ctx);
    expect(ctx.placements).toEqual([]);
    expect((done.data as { script: string }).script).toContain("#SBATCH --array=0-5\n");
    const note = ctx.events.map((e) => ("text" in e ? e.text : "")).find((t) => t.startsWith("a sweep of 6 points")) ?? "";
    expect(note).toContain("\n  point 0: lr=1e-3 seed=0\n");
    expect(note).toContain("\n  ... 1 more");
  });

  it("--hold submits a single job held too, and --sbatch cannot set a sweep's --array", async () => {
    const cluster = withImage();
    const done = await batch(["train.py"], false, { ...LOOPBACK, hold: true }, fakeContext(cluster));
    const script = runFileOf(cluster, (done.data as { runDir: string }).runDir, "job.sbatch") ?? "";
    expect(script).toContain("#SBATCH --hold\n");
    expect(script).not.toContain("--array");
    await expect(batch(["train.py"], false, { ...SWEEP, sbatch: ["--array=0-3"] }, fakeContext(withImage()))).rejects.toThrow(
      `--sbatch "--array=0-3" sets --array, which a sweep sets itself (a task per point); drop it (--max-parallel limits the tasks at once)`,
    );
  });

  it("--follow waits for every task with one squeue call per poll and exits 1 naming the failed points", async () => {
    const cluster = withImage();
    // Every task has ended: the array's tasks as squeue lists them for MinJobAge.
    cluster.handlers.squeue = () =>
      ok([0, 1, 2, 3, 4, 5].map((t) => squeueRow({ jobId: `4242_${t}`, state: t >= 4 ? "FAILED" : "COMPLETED" })).join(""));
    // Points 0-4 recorded their ends (point 4 with exit code 3); point 5 left none.
    const record = (index: number, exitCode: number) =>
      JSON.stringify({
        index,
        arrayJobId: "4242",
        taskId: String(index),
        jobId: String(5000 + index),
        exitCode,
        signal: null,
        start: "s",
        end: "e",
        node: "c1",
      });
    cluster.handlers.find = () => ok([0, 1, 2, 3, 4].map((i) => `${record(i, i === 4 ? 3 : 0)}\n`).join(""));
    cluster.handlers.sacct = () => fail("sacct: error: Slurm accounting storage is disabled");
    const ctx = fakeContext(cluster);
    const done = await batch(["train.py"], false, { ...SWEEP, follow: true }, ctx);
    const runDir = `${RUNS}/20261123-101500-train`;
    expect(done.exitCode).toBe(1);
    expect(done.data).toMatchObject({
      counts: { pending: 0, running: 0, done: 4, failed: 2 },
      failed: [
        { index: 4, params: { lr: "1e-4", seed: "1" }, state: "FAILED", exitCode: 3, log: `${runDir}/logs/4242_4.log` },
        { index: 5, params: { lr: "1e-4", seed: "2" }, state: "FAILED", log: `${runDir}/logs/4242_5.log` },
      ],
    });
    const texts = ctx.events.map((e) => ("text" in e ? e.text : ""));
    expect(texts).toContain("sweep: 0 pending, 0 running, 4 done, 2 failed (of 6)");
    expect(texts).toContain(`point 4 (lr=1e-4 seed=1) failed: exit code 3; log: ${runDir}/logs/4242_4.log`);
    expect(texts).toContain(`point 5 (lr=1e-4 seed=2) failed: FAILED; log: ${runDir}/logs/4242_5.log`);
    expect(cluster.callsOf("squeue")).toHaveLength(1);
  });

  it("--follow exits 0 when every point completed with exit code 0", async () => {
    const cluster = withImage();
    cluster.handlers.squeue = () => ok("");
    const record = (index: number) =>
      JSON.stringify({
        index,
        arrayJobId: "4242",
        taskId: String(index),
        jobId: "1",
        exitCode: 0,
        signal: null,
        start: "s",
        end: "e",
        node: "c1",
      });
    cluster.handlers.find = () => ok([0, 1, 2, 3, 4, 5].map((i) => `${record(i)}\n`).join(""));
    const ctx = fakeContext(cluster);
    const done = await batch(["train.py"], false, { ...SWEEP, follow: true }, ctx);
    expect(done.exitCode).toBe(0);
    expect(done.data).toMatchObject({ counts: { done: 6, failed: 0 }, failed: [] });
    expect(ctx.events.map((e) => ("text" in e ? e.text : ""))).toContain("sweep ended: all 6 points completed with exit code 0");
  });
});

describe("jupyter", () => {
  /** A cluster whose jobs have Jupyter ready as soon as they are submitted. */
  function readyCluster(cluster = withImage()): FakeCluster {
    cluster.onSubmit = (job) => {
      job.state = "RUNNING";
      job.node = "gpu-node1";
      const conn = { node: "gpu-node1", port: 40123, token: "t0k", jobId: job.id };
      cluster.files.set(job.script.replace(/job\.sbatch$/, "connection.json"), JSON.stringify(conn));
    };
    return cluster;
  }

  it("submits, waits for connection.json and gives the tunnel the user's computer runs", async () => {
    const ctx = fakeContext(readyCluster());
    const done = await jupyter(LOOPBACK, ctx);
    const runDir = `${RUNS}/20261123-101500-jupyter`;
    expect(done.data).toEqual({
      jobId: "4242",
      cluster: "loopback",
      node: "gpu-node1",
      port: 40123,
      token: "t0k",
      url: "http://localhost:40123/?token=t0k",
      tunnel: "ssh -N -L 40123:gpu-node1:40123 alice@login.example.org",
      runDir,
      log: `${runDir}/job.log`,
    });
    expect(ctx.events[0]).toEqual({ kind: "submitted", jobId: "4242", runDir });
  });

  it("--tunnel where the executor cannot forward (the login node itself) is refused before anything is submitted", async () => {
    const cluster = readyCluster();
    await expect(jupyter({ ...LOOPBACK, tunnel: true }, fakeContext(cluster))).rejects.toThrow(
      /^--tunnel is for running hpcjob on your own computer/,
    );
    expect(cluster.callsOf("sbatch")).toEqual([]);
  });

  it("--tunnel holds a forwarded port, shows its URL, and on Ctrl-C closes it and cancels the job", async () => {
    const cluster = readyCluster(withImage(new ForwardingCluster()));
    const ctx = fakeContext(cluster);
    ctx.show = (data) => {
      ctx.shown.push(data);
      ctx.abort();
    };
    const done = await jupyter({ ...LOOPBACK, tunnel: true }, ctx);
    expect(done.data).toBeUndefined();
    expect((cluster as ForwardingCluster).forwarded).toEqual([{ localPort: 40123, host: "gpu-node1", port: 40123 }]);
    expect(ctx.shown).toEqual([expect.objectContaining({ localPort: 40124, url: "http://localhost:40124/?token=t0k", keep: false })]);
    expect(cluster.job("4242").state).toBe("CANCELLED");
    expect(ctx.events.at(-1)).toEqual({ kind: "note", text: "tunnel closed; cancelled job 4242" });
  });
});

describe("finding runs: attach, logs, cancel", () => {
  const connection = JSON.stringify({ node: "gpu-node1", port: 40555, token: "abc" });
  /** request.json of an earlier run of `kind`, as hpcjob writes it. */
  const recordOf = async (kind: "jupyter" | "batch") => {
    const loaded = await loadProfile({ env: { HPCJOB_CLUSTERS: join(ROOT, "test/fixtures/clusters") }, home: "/nonexistent" }, "loopback");
    const payload: Payload = kind === "jupyter" ? { kind } : { kind, argv: ["train.py"], explicit: false };
    const req = requestFor(loaded, { image: IMAGE }, payload, "/home/alice/work");
    return recordText(runRecord(req, { host: "127.0.0.1", port: 2222, user: "alice" }, "hpcjob test", new Date(0)));
  };

  it("attach finds a Jupyter run by job id and gives its connection again", async () => {
    const cluster = new FakeCluster();
    earlierRun(cluster, "20261101-090000-old", "7");
    const dir = earlierRun(cluster, "20261122-101500-jupyter", "4300", {
      "request.json": await recordOf("jupyter"),
      "connection.json": connection,
    });
    cluster.jobs.set("4300", { id: "4300", script: `${dir}/job.sbatch`, state: "RUNNING", node: "gpu-node1" });
    const done = await attach("4300", { cluster: "loopback" }, fakeContext(cluster));
    expect(done.data).toMatchObject({
      jobId: "4300",
      runDir: dir,
      url: "http://localhost:40555/?token=abc", // the loopback profile runs jupyter server, not lab
      tunnel: "ssh -N -L 40555:gpu-node1:40555 -p 2222 alice@127.0.0.1",
    });
  });

  it("attach reaches a Jupyter job whose request.json an older hpcjob wrote (kind, cluster, login and command at the top)", async () => {
    const cluster = new FakeCluster();
    const older = JSON.stringify({
      hpcjob: "hpcjob 0.0.9",
      kind: "jupyter",
      cluster: "loopback",
      login: { host: "127.0.0.1", port: 2222, user: "alice" },
      command: ["jupyter", "lab"],
      gpus: "A40:1",
    });
    const dir = earlierRun(cluster, "20261122-101500-jupyter", "4300", { "request.json": older, "connection.json": connection });
    cluster.jobs.set("4300", { id: "4300", script: `${dir}/job.sbatch`, state: "RUNNING", node: "gpu-node1" });
    const done = await attach("4300", { cluster: "loopback" }, fakeContext(cluster));
    expect(done.data).toMatchObject({ jobId: "4300", url: "http://localhost:40555/lab?token=abc" });
  });

  it("attach to a batch job says to look at its log instead", async () => {
    const cluster = new FakeCluster();
    earlierRun(cluster, "20261122-101500-train", "4301", { "request.json": await recordOf("batch") });
    await expect(attach("4301", { cluster: "loopback" }, fakeContext(cluster))).rejects.toThrow(
      "job 4301 is a batch job; see its output with hpcjob logs 4301",
    );
  });

  it("logs finds a run by job id or by name and streams its log; an unknown one says how to find it", async () => {
    const cluster = new FakeCluster();
    earlierRun(cluster, "20261122-101500-train", "4302", { "job.log": "loss 0.1\n" });
    for (const ref of ["4302", "20261122-101500-train"]) {
      const ctx = fakeContext(cluster);
      await logs(ref, { cluster: "loopback" }, ctx);
      expect(ctx.streamed).toBe("loss 0.1\n");
    }
    await expect(logs("999", { cluster: "loopback" }, fakeContext(cluster))).rejects.toThrow(
      `no hpcjob run for "999" in ${RUNS}; give a job id or run name from hpcjob ps`,
    );
  });

  it("cancel cancels the run's job", async () => {
    const cluster = new FakeCluster();
    const dir = earlierRun(cluster, "20261122-101500-train", "4303");
    cluster.jobs.set("4303", { id: "4303", script: `${dir}/job.sbatch`, state: "RUNNING" });
    const done = await cancel("4303", { cluster: "loopback" }, fakeContext(cluster));
    expect(done.data).toEqual({ jobId: "4303", runDir: dir, cancelled: true });
    expect(cluster.job("4303").state).toBe("CANCELLED");
  });

  it("ps lists hpcjob's jobs with their run directories", async () => {
    const cluster = new FakeCluster();
    cluster.jobs.set("4304", { id: "4304", script: `${RUNS}/x/job.sbatch`, state: "RUNNING", node: "gpu-node1" });
    const done = await ps({ cluster: "loopback" }, fakeContext(cluster));
    expect(done.data).toEqual([
      { jobId: "4304", name: "jupyter", state: "RUNNING", time: "0:00", where: "gpu-node1", runDir: `${RUNS}/x` },
    ]);
    expect(cluster.callsOf("squeue")[0]?.argv).toContain("--user=alice");
  });

  it("ps says where each job is: the nodes it holds (CONFIGURING too), why it waits, or - (never Slurm's reason None)", async () => {
    const cluster = new FakeCluster();
    cluster.handlers.squeue = () =>
      ok(
        squeueRow({ jobId: "4310", state: "CONFIGURING", node: "n3" }) +
          squeueRow({ jobId: "4311", state: "PENDING", reason: "Resources" }) +
          squeueRow({ jobId: "4312", state: "PENDING" }),
      );
    const done = await ps({ cluster: "loopback" }, fakeContext(cluster));
    expect(done.data.map((j) => [j.jobId, j.where])).toEqual([
      ["4310", "n3"],
      ["4311", "(Resources)"],
      ["4312", "-"],
    ]);
  });

  it("ps --all adds hpcjob's ended jobs from sacct that squeue no longer lists; where sacct fails it says so", async () => {
    const cluster = new FakeCluster();
    cluster.jobs.set("4304", { id: "4304", script: `${RUNS}/x/job.sbatch`, state: "RUNNING", node: "gpu-node1" });
    const line = (id: string, state: string, script: string, comment = "") =>
      `${[id, state, "None", "gpu-node1", "2026-11-22T10:00:00", "train", "alice", comment, `sbatch --parsable ${script}`, "00:01:00", "01:00:00", "gpu"].join(FIELD_SEP)}\n`;
    cluster.handlers.sacct = () =>
      ok(
        line("4290", "COMPLETED", `${RUNS}/a/job.sbatch`) +
          line("4291", "FAILED", "/home/alice/own/job.sbatch") +
          line("4292", "TIMEOUT", "/home/alice/own.sbatch", "hpcjob") +
          line("4295_0", "COMPLETED", `${RUNS}/s/job.sbatch`) +
          line("4295_1", "OUT_OF_MEMORY", `${RUNS}/s/job.sbatch`) +
          line("4304", "RUNNING", `${RUNS}/x/job.sbatch`),
      );
    cluster.handlers.find = () => ok("");
    const done = await ps({ cluster: "loopback", all: true }, fakeContext(cluster));
    const rows = done.data.map((j) => [j.jobId, j.state, j.where, j.runDir]);
    // Ended jobs and arrays show the node they ran on, not sacct's reason "None".
    expect(rows).toEqual([
      ["4304", "RUNNING", "gpu-node1", `${RUNS}/x`],
      ["4290", "COMPLETED", "gpu-node1", `${RUNS}/a`],
      // Tagged with hpcjob's comment (a site that stores comments), though its script is elsewhere.
      ["4292", "TIMEOUT", "gpu-node1", undefined],
      ["4295", "ARRAY 0 pending, 0 running, 1 done, 1 failed", "gpu-node1", `${RUNS}/s`],
    ]);
    expect(cluster.callsOf("sacct")[0]?.argv).toEqual(sacctHistoryArgv("alice", "now-7days"));

    const without = new FakeCluster();
    without.jobs.set("4304", { id: "4304", script: `${RUNS}/x/job.sbatch`, state: "RUNNING", node: "gpu-node1" });
    without.handlers.sacct = () => ({ code: 1, stdout: "", stderr: "sacct: error: Slurm accounting storage is disabled\n" });
    const ctx = fakeContext(without);
    expect((await ps({ cluster: "loopback", all: true }, ctx)).data.map((j) => j.jobId)).toEqual(["4304"]);
    expect(ctx.events).toContainEqual({ kind: "note", text: expect.stringMatching(/^sacct did not answer/) });
    // Without --all, accounting is not asked.
    await ps({ cluster: "loopback" }, fakeContext(cluster));
    expect(cluster.callsOf("sacct")).toHaveLength(1);
  });

  it("ps shows a sweep's array as one row with counts, and its tasks with states and exit codes from their records", async () => {
    const cluster = new FakeCluster();
    const script = `${RUNS}/s/job-10.sbatch`;
    cluster.handlers.squeue = () =>
      ok(
        squeueRow({ jobId: "4300_0", state: "RUNNING", node: "n1", script }) +
          squeueRow({ jobId: "4300_1", state: "COMPLETED", node: "n1", script }) +
          squeueRow({ jobId: "4300_[2-3%2]", state: "PENDING", reason: "JobArrayTaskLimit", script }) +
          squeueRow({ jobId: "4301", state: "RUNNING", node: "n2" }),
      );
    // Task 1 completed; task 4 failed and squeue has forgotten it; a record of another array is not this one's.
    const record = (task: number, exitCode: number, arrayJobId = "4300") =>
      `${JSON.stringify({ index: 10 + task, arrayJobId, taskId: String(task), jobId: "1", exitCode, signal: null, start: "s", end: "e", node: "n1" })}\n`;
    cluster.handlers.find = () => ok(record(1, 0) + record(4, 2) + record(0, 0, "4299"));
    const done = await ps({ cluster: "loopback" }, fakeContext(cluster));
    expect(done.data).toEqual([
      {
        jobId: "4300",
        name: "jupyter",
        state: "ARRAY 2 pending, 1 running, 1 done, 1 failed",
        time: "0:00",
        where: "n1",
        runDir: `${RUNS}/s`,
        counts: { pending: 2, running: 1, done: 1, failed: 1 },
        tasks: [
          { task: 0, point: 10, state: "RUNNING" },
          { task: 1, point: 11, state: "COMPLETED", exitCode: 0 },
          { task: 2, point: 12, state: "PENDING" },
          { task: 3, point: 13, state: "PENDING" },
          { task: 4, point: 14, state: "FAILED", exitCode: 2 },
        ],
      },
      { jobId: "4301", name: "jupyter", state: "RUNNING", time: "0:00", where: "n2", runDir: `${RUNS}/x` },
    ]);
    expect(cluster.callsOf("squeue")).toHaveLength(1);
    expect(cluster.callsOf("find")).toHaveLength(1);
  });

  it("ps finds the run directory of a sweep's later array too; logs on a sweep says where its tasks log", async () => {
    const cluster = withImage();
    cluster.maxArraySize = 2;
    const sweep = await batch(["train.py"], false, { ...LOOPBACK, sweep: ["i=1..3"] }, fakeContext(cluster));
    const runDir = (sweep.data as { runDir: string }).runDir;
    const listed = await ps({ cluster: "loopback" }, fakeContext(cluster));
    expect((listed.data as { jobId: string; runDir?: string }[]).map((j) => [j.jobId, j.runDir])).toEqual([
      ["4242", runDir],
      ["4243", runDir],
    ]);
    await expect(logs("4242", { cluster: "loopback" }, fakeContext(cluster))).rejects.toThrow(
      `${runDir} is a sweep: each task logs to ${runDir}/logs/ARRAYJOBID_TASKID.log (arrays.json says which array runs which points); read those`,
    );
  });
});

describe("remote install", () => {
  /** A file to install, on this computer. */
  function binary(text: string): string {
    const file = join(mkdtempSync(join(tmpdir(), "hpcjob-bin-")), "hpcjob");
    writeFileSync(file, text);
    return file;
  }

  it("copies beside the target, verifies, renames; then finds the same file and copies nothing", async () => {
    const cluster = new FakeCluster(true);
    const file = binary("#!/bin/sh\necho hpcjob\n");
    const sha = createHash("sha256").update("#!/bin/sh\necho hpcjob\n").digest("hex");
    const flags = { cluster: "loopback", path: "~/.local/bin/hpcjob", binary: file };
    const first = await remoteInstall(flags, fakeContext(cluster));
    expect(first.data).toEqual({ path: "/home/alice/.local/bin/hpcjob", sha256: sha, installed: true, onPath: false });
    expect(cluster.files.get("/home/alice/.local/bin/hpcjob")).toBe("#!/bin/sh\necho hpcjob\n");
    expect(cluster.files.has("/home/alice/.local/bin/hpcjob.partial")).toBe(false);
    expect(cluster.modes.get("/home/alice/.local/bin/hpcjob")).toBe(0o755);
    const second = await remoteInstall(flags, fakeContext(cluster));
    expect(second.data).toEqual({ path: "/home/alice/.local/bin/hpcjob", sha256: sha, installed: false });
    cluster.modes.set("/home/alice/.local/bin/hpcjob", 0o644);
    const third = await remoteInstall(flags, fakeContext(cluster));
    expect(third.data).toMatchObject({ installed: false, modeFixed: true });
    expect(cluster.modes.get("/home/alice/.local/bin/hpcjob")).toBe(0o755);
  });

  it("is for copying to another machine: on the login node itself it says what to pass", async () => {
    const flags = { cluster: "loopback", path: "~/.local/bin/hpcjob", binary: binary("x") };
    await expect(remoteInstall(flags, fakeContext(new FakeCluster(false)))).rejects.toThrow(
      "remote install copies hpcjob from your computer to a login node; pass --cluster NAME or --remote HOST",
    );
  });
});

describe("clusters", () => {
  it("list gives every profile on the search path, the test ones first, with where each comes from", async () => {
    const rows = (await list(fakeContext(new FakeCluster()))).data;
    expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining(["loopback", "vera", "penn", "custom"]));
    expect(rows.find((r) => r.name === "vera")).toMatchObject({ runtime: "apptainer", source: "built-in" });
  });

  it("show resolves a profile that extends another, or gives the file as written", async () => {
    const ctx = fakeContext(new FakeCluster());
    const shown = (await show("loopback-ssh", {}, ctx)).data as { profile: { login: { port: number } }; chain: string[] };
    expect(shown.profile.login.port).toBe(2222);
    expect(shown.chain.map((f) => posix.basename(f))).toEqual(["loopback-ssh.yaml", "loopback.yaml"]);
    expect((await show("loopback-ssh", { raw: true }, ctx)).data).toEqual({ raw: expect.stringContaining("extends: loopback") });
  });

  it("validate checks a folder of profiles, each of them", async () => {
    const done = await validate(join(ROOT, "clusters"), fakeContext(new FakeCluster()));
    expect(done.data).toMatchObject({
      dir: join(ROOT, "clusters"),
      files: expect.arrayContaining([expect.objectContaining({ name: "vera" })]),
    });
  });
});
