/**
 * `show` and `rerun` in process against the fake cluster: the manifest a
 * submission writes (with the workdir's git state from a scripted git), how
 * show reads it, and that rerun submits the same request again into a new
 * run directory, warning about what differs now.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runJson, runText } from "../../src/cli/views.js";
import { batch } from "../../src/commands/batch.js";
import { rerun, show } from "../../src/commands/runs.js";
import { ok } from "../fakes.js";
import { ROOT } from "../helpers.js";
import { FakeCluster, fakeContext, runFileOf } from "./fakeCluster.js";

const IMAGE = "/home/alice/images/x.sif";
const RUNS = "/home/alice/.hpcjob/runs";
const FLAGS = { cluster: "loopback", image: IMAGE, env: ["NOTE=it's $HOME"], sbatch: ["--exclusive"] };
const COMMIT = "c0ffee0000000000000000000000000000000000";
const DIFF = "diff --git a/train.py b/train.py\n--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-print(1)\n+print(2)\n";

/** A fake cluster whose workdir is a git repository at `repo.commit`, dirty when `repo.dirty`. */
function gitCluster(repo = { commit: COMMIT, dirty: true }): FakeCluster {
  const cluster = new FakeCluster();
  cluster.files.set(IMAGE, "SIF");
  cluster.handlers.git = (argv) => {
    const args = argv.slice(3).join(" ");
    if (args === "rev-parse --verify -q HEAD") return ok(`${repo.commit}\n`);
    if (args === "status --porcelain") return ok(repo.dirty ? " M train.py\n?? notes.txt\n" : "");
    if (args === "symbolic-ref -q --short HEAD") return ok("main\n");
    if (args.startsWith("config --get-regexp"))
      return ok("remote.origin.url https://alice:tok@github.com/lab/proj.git\nbranch.main.remote origin\n");
    if (args === "ls-files --others --exclude-standard -z") return ok("notes.txt\0");
    const output = argv.find((a) => a.startsWith("--output="));
    if (argv[3] === "diff" && output) {
      cluster.files.set(output.slice("--output=".length), DIFF);
      return ok();
    }
    throw new Error(`the fake git has no answer to ${args}`);
  };
  return cluster;
}

/** Submit the test's batch job; its run directory. */
async function submitted(cluster: FakeCluster): Promise<string> {
  const done = await batch(["train.py", "--lr", "3e-4"], false, FLAGS, fakeContext(cluster));
  return (done.data as { runDir: string }).runDir;
}

describe("the manifest a submission writes", () => {
  it("records the workdir's commit, branch and remote (without credentials), and a dirty tree's diff beside it, 0600", async () => {
    const cluster = gitCluster();
    const runDir = await submitted(cluster);
    const record = JSON.parse(runFileOf(cluster, runDir, "request.json") ?? "");
    expect(record.git).toEqual({
      commit: COMMIT,
      branch: "main",
      remote: "https://github.com/lab/proj.git",
      dirty: true,
      untracked: ["notes.txt"],
      diff: "git.diff",
    });
    expect(runFileOf(cluster, runDir, "git.diff")).toBe(DIFF);
    expect(cluster.modes.get(`${runDir}/git.diff`)).toBe(0o600);
    expect(record.request).toMatchObject({ kind: "batch", command: ["python3", "train.py", "--lr", "3e-4"], env: { NOTE: "it's $HOME" } });
    expect(record.profileSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("a clean tree has no diff", async () => {
    const cluster = gitCluster({ commit: COMMIT, dirty: false });
    const runDir = await submitted(cluster);
    expect(JSON.parse(runFileOf(cluster, runDir, "request.json") ?? "").git).toEqual({
      commit: COMMIT,
      branch: "main",
      remote: "https://github.com/lab/proj.git",
      dirty: false,
    });
    expect(runFileOf(cluster, runDir, "git.diff")).toBeUndefined();
  });
});

describe("show", () => {
  it("prints the manifest readably by job id, and --json is request.json itself", async () => {
    const cluster = gitCluster();
    const runDir = await submitted(cluster);
    const done = await show("4242", { cluster: "loopback" }, fakeContext(cluster));
    expect(runJson(done.data)).toEqual(JSON.parse(runFileOf(cluster, runDir, "request.json") ?? ""));
    const text = runText(done.data);
    expect(text.split("\n")).toEqual([
      "batch run train (job 4242) on loopback",
      `  directory:  ${runDir}`,
      expect.stringMatching(/^ {2}submitted: {2}2026-11-23T10:15:00\.000Z by hpcjob /),
      "  command:    python3 train.py --lr 3e-4",
      "  workdir:    /home/alice/work",
      `  image:      ${IMAGE}`,
      "  resources:  partition gpu, GPUs none, CPUs 1, memory site default, time 00:10:00",
      `  env:        NOTE='it'\\''s $HOME'`,
      "  sbatch:     --exclusive",
      expect.stringMatching(/^ {2}profile: {4}\S+loopback\.yaml \(apptainer; sha256 [0-9a-f]{16}\)$/),
      `  git:        commit ${COMMIT} (branch main, remote https://github.com/lab/proj.git)`,
      `  changes:    uncommitted changes in ${runDir}/git.diff; untracked, not in the diff: notes.txt`,
      "Submit it again: hpcjob rerun 4242",
    ]);
  });

  it("a request.json from an older hpcjob says so, exit 2", async () => {
    const cluster = new FakeCluster();
    cluster.files.set(`${RUNS}/20261101-090000-old/`, "");
    cluster.files.set(`${RUNS}/20261101-090000-old/job.id`, "7\n");
    cluster.files.set(`${RUNS}/20261101-090000-old/request.json`, JSON.stringify({ hpcjob: "hpcjob 0.0.9 (commit x)", kind: "batch" }));
    const err = await show("7", { cluster: "loopback" }, fakeContext(cluster)).catch((e) => e);
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(
      `${RUNS}/20261101-090000-old/request.json (made by hpcjob 0.0.9 (commit x)) has no "request": it was made by an older hpcjob, which did not record the whole request; submit the job again with hpcjob batch or hpcjob jupyter`,
    );
    await expect(rerun("7", { cluster: "loopback" }, fakeContext(cluster))).rejects.toThrow(/made by an older hpcjob/);
  });
});

describe("rerun", () => {
  it("submits the same request into a new run directory: the script differs only in the run directory", async () => {
    const cluster = gitCluster({ commit: COMMIT, dirty: false });
    const first = await submitted(cluster);
    const ctx = fakeContext(cluster);
    ctx.now = () => new Date(Date.UTC(2026, 10, 24, 8, 0, 0));
    const done = await rerun("4242", { cluster: "loopback" }, ctx);
    const second = `${RUNS}/20261124-080000-train`;
    expect(done.data).toEqual({
      jobId: "4243",
      cluster: "loopback",
      kind: "batch",
      runDir: second,
      log: `${second}/job.log`,
      rerunOf: first,
    });
    const script = (dir: string) => runFileOf(cluster, dir, "job.sbatch") ?? "";
    expect(script(second)).toBe(script(first).replaceAll(first, second));
    const records = [first, second].map((d) => JSON.parse(runFileOf(cluster, d, "request.json") ?? ""));
    expect(records[1].request).toEqual(records[0].request);
    expect(records[1].rerunOf).toBe(first);
    expect(ctx.events.filter((e) => e.kind === "note")).toEqual([]);
  });

  it("uses nothing of today's profile or flags, and warns when the workdir's commit differs or its tree is dirty now", async () => {
    const repo = { commit: COMMIT, dirty: false };
    const cluster = gitCluster(repo);
    const first = await submitted(cluster);
    repo.commit = "beef000000000000000000000000000000000000";
    repo.dirty = true;
    const ctx = fakeContext(cluster);
    await rerun(first, { cluster: "loopback" }, ctx);
    const notes = ctx.events.flatMap((e) => (e.kind === "note" ? [e.text] : []));
    expect(notes).toEqual([
      `warning: /home/alice/work is at commit ${repo.commit} now, the run was at ${COMMIT}: the rerun runs the code as it is now (git -C /home/alice/work checkout ${COMMIT} first to run the same code)`,
      "warning: /home/alice/work has uncommitted changes now: the rerun runs them",
    ]);
  });

  it("uses the profile as recorded, and warns when the cluster's profile has changed since", async () => {
    const cluster = gitCluster({ commit: COMMIT, dirty: false });
    const first = await submitted(cluster);
    const changed = mkdtempSync(join(tmpdir(), "hpcjob-profiles-"));
    const profile = readFileSync(join(ROOT, "test/fixtures/clusters/loopback.yaml"), "utf8");
    writeFileSync(join(changed, "loopback.yaml"), profile.replace('time: "00:10:00"', 'time: "00:20:00"'));
    const ctx = fakeContext(cluster, { env: { HPCJOB_CLUSTERS: changed } });
    const done = await rerun("4242", { cluster: "loopback", dryRun: true }, ctx);
    expect((done.data as { script: string }).script).toContain("#SBATCH --time=00:10:00\n");
    expect(ctx.events).toContainEqual({
      kind: "note",
      text: `warning: profile loopback has changed since ${first} was submitted; the rerun uses the profile as it was then (hpcjob show 4242)`,
    });
  });

  it("--dry-run prints the script for a new run directory and submits nothing", async () => {
    const cluster = gitCluster({ commit: COMMIT, dirty: false });
    const first = await submitted(cluster);
    const ctx = fakeContext(cluster);
    ctx.now = () => new Date(Date.UTC(2026, 10, 24, 8, 0, 0));
    const done = await rerun("4242", { cluster: "loopback", dryRun: true }, ctx);
    const script = (done.data as { script: string }).script;
    expect(script).toBe((runFileOf(cluster, first, "job.sbatch") ?? "").replaceAll(first, `${RUNS}/20261124-080000-train`));
    expect(cluster.callsOf("sbatch")).toHaveLength(1);
    expect(cluster.runDirs()).toEqual([first]);
  });
});

describe("batch --resubmit-failed", () => {
  const SWEEP = { ...FLAGS, sweep: ["lr=1e-3,1e-4", "seed=0..2"] };
  /** Records of the tasks' ends: points 0-3 exit 0, point 4 exit 3, point 5 none (killed). */
  const record = (index: number, exitCode: number) =>
    `${JSON.stringify({ index, arrayJobId: "4242", taskId: String(index), jobId: "1", exitCode, signal: null, start: "s", end: "e", node: "c1" })}\n`;

  it("submits exactly the points that did not complete with 0 as a new array over the same table, recorded in the same run", async () => {
    const cluster = gitCluster();
    const runDir = ((await batch(["train.py"], false, SWEEP, fakeContext(cluster))).data as { runDir: string }).runDir;
    cluster.handlers.find = () => ok([0, 1, 2, 3].map((i) => record(i, 0)).join("") + record(4, 3));
    const ctx = fakeContext(cluster);
    const done = await batch([], false, { cluster: "loopback", resubmitFailed: runDir }, ctx);
    const arrays = [{ jobId: "4243", offset: 0, count: 2, picks: `${runDir}/resubmit-1.points`, script: `${runDir}/job-r1-0.sbatch` }];
    expect(done.data).toMatchObject({ jobId: "4243", runDir, points: 2, arrays });
    expect(runFileOf(cluster, runDir, "resubmit-1.points")).toBe("4\n5\n");
    const script = runFileOf(cluster, runDir, "job-r1-0.sbatch") ?? "";
    expect(script).toContain("#SBATCH --array=0-1\n");
    expect(script).toContain(`mapfile -t -s $(( 0 + \${SLURM_ARRAY_TASK_ID:-0} )) -n 1 hpcjob_pick < ${runDir}/resubmit-1.points\n`);
    const recorded = JSON.parse(runFileOf(cluster, runDir, "arrays.json") ?? "");
    expect(recorded.points).toBe(6);
    expect(recorded.arrays.map((a: { jobId: string }) => a.jobId)).toEqual(["4242", "4243"]);
    expect(ctx.events.map((e) => ("text" in e ? e.text : ""))).toContain("resubmitted 2 of 6 points: 4, 5");
  });

  it("says so when every point completed, and refuses a run that is not a sweep with the fix", async () => {
    const cluster = gitCluster();
    const runDir = ((await batch(["train.py"], false, SWEEP, fakeContext(cluster))).data as { runDir: string }).runDir;
    cluster.handlers.find = () => ok([0, 1, 2, 3, 4, 5].map((i) => record(i, 0)).join(""));
    const ctx = fakeContext(cluster);
    const done = await batch([], false, { cluster: "loopback", resubmitFailed: runDir }, ctx);
    expect(done.exitCode).toBeUndefined();
    expect(ctx.events.map((e) => ("text" in e ? e.text : ""))).toContain(
      `all 6 points of ${runDir} completed with exit code 0; nothing to resubmit`,
    );
    expect(cluster.callsOf("sbatch")).toHaveLength(1);
    const single = await submitted(cluster);
    const err = await batch([], false, { cluster: "loopback", resubmitFailed: single }, fakeContext(cluster)).catch((e) => e);
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(`${single} is not a sweep; submit it again whole with hpcjob rerun ${single}`);
  });
});
