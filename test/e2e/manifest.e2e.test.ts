/**
 * End to end on the loopback cluster, as alice: the manifest of a run from a
 * git repository with uncommitted changes (commit, branch, remote without
 * its credentials, and a diff that recreates the tree byte for byte, binary
 * files too), `hpcjob show` of it, and `hpcjob rerun`: the same script but
 * for the run directory, a job that really runs, and warnings about what
 * differs now.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cancelAll, hpcjob, imagePaths, LOGIN_ALIAS, laptopEnv, requireCluster, runAs, testImages } from "./harness.js";

const PROJECT = "/home/alice/manifest-e2e";
const IMAGE = imagePaths("alice").sif;
const BATCH = ["batch", "--cluster", "loopback", "--image", IMAGE, "--workdir", PROJECT];

/** A shell script run as alice, which must succeed; its stdout. */
function asAlice(script: string): string {
  const r = runAs("alice", ["bash", "-c", `set -e\n${script}`]);
  if (r.status !== 0) throw new Error(`as alice: ${script}\n${r.stderr}`);
  return r.stdout;
}

/**
 * alice's project: a git repository on branch main whose origin has
 * credentials in its URL, at one commit, then changed: a text file and a
 * binary file edited, and a file git does not track.
 */
function prepareProject(): string {
  asAlice(`rm -rf ${PROJECT} /home/alice/manifest-e2e-check
mkdir ${PROJECT} && cd ${PROJECT}
git init -q -b main && git config user.email alice@example.org && git config user.name alice
git remote add origin https://alice:s3cret@git.example.org/lab/proj.git
printf 'print("v1", flush=True)\\n' > train.py
printf '\\000\\001\\002\\377' > weights.bin
git add . && git commit -q -m one`);
  const commit = asAlice(`git -C ${PROJECT} rev-parse HEAD`).trim();
  asAlice(`cd ${PROJECT}
printf 'import sys\\nprint("v2", sys.argv[1:], flush=True)\\n' > train.py
printf '\\000\\376\\002\\377\\n\\200' > weights.bin
printf 'scratch\\n' > notes.txt`);
  return commit;
}

/** The run's request.json. */
const record = (runDir: string) => JSON.parse(readFileSync(join(runDir, "request.json"), "utf8"));

let commit: string;
let first: { jobId: string; runDir: string };

beforeAll(() => {
  requireCluster();
  testImages("alice");
  commit = prepareProject();
  const r = hpcjob("alice", [...BATCH, "--json", "train.py", "--lr", "1e-3"]);
  expect(r.status, r.stderr).toBe(0);
  first = JSON.parse(r.stdout);
  const logs = hpcjob("alice", ["logs", "-f", first.jobId]);
  expect(logs.status, logs.stderr).toBe(0);
  expect(logs.stdout).toContain("v2 ['--lr', '1e-3']");
}, 180_000);

afterAll(() => cancelAll());

describe("the manifest of a run from a dirty git tree", () => {
  it("records the commit, branch, remote without credentials, the untracked files, and the diff beside it (0600)", () => {
    const m = record(first.runDir);
    expect(m.git).toEqual({
      commit,
      branch: "main",
      remote: "https://git.example.org/lab/proj.git",
      dirty: true,
      untracked: ["notes.txt"],
      diff: "git.diff",
    });
    expect(readFileSync(join(first.runDir, "request.json"), "utf8")).not.toContain("s3cret");
    expect(statSync(join(first.runDir, "git.diff")).mode & 0o777).toBe(0o600);
    expect(m.request).toMatchObject({ kind: "batch", cluster: "loopback", workdir: PROJECT, image: IMAGE });
    expect(m.request.command).toEqual(["python3", "train.py", "--lr", "1e-3"]);
    expect(m.hpcjob).toMatch(/^hpcjob \S+ \(commit \S+\)$/);
    expect(m.profileSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("the diff applied to the recorded commit gives the tree that ran, binary files byte for byte", () => {
    const check = "/home/alice/manifest-e2e-check";
    asAlice(`git clone -q ${PROJECT} ${check} && cd ${check} && git checkout -q ${commit} && git apply ${first.runDir}/git.diff`);
    for (const file of ["train.py", "weights.bin"]) {
      expect(readFileSync(join(check, file)).equals(readFileSync(join(PROJECT, file))), file).toBe(true);
    }
  });
});

describe("show", () => {
  it("prints the run readably by job id; --json is request.json", () => {
    const text = hpcjob("alice", ["show", first.jobId]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toContain(`batch run train (job ${first.jobId}) on loopback\n`);
    expect(text.stdout).toContain("  command:    python3 train.py --lr 1e-3\n");
    expect(text.stdout).toContain(`  git:        commit ${commit} (branch main, remote https://git.example.org/lab/proj.git)\n`);
    expect(text.stdout).toContain(`  changes:    uncommitted changes in ${first.runDir}/git.diff; untracked, not in the diff: notes.txt\n`);
    const json = hpcjob("alice", ["show", first.runDir, "--json"]);
    expect(json.status, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(record(first.runDir));
  });
});

describe("rerun", () => {
  it("submits the same script again (only the run directory differs), the job runs, and it warns that the tree is dirty", () => {
    const r = hpcjob("alice", ["rerun", first.jobId, "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const again = JSON.parse(r.stdout) as { jobId: string; runDir: string; rerunOf: string };
    expect(again.rerunOf).toBe(first.runDir);
    expect(again.runDir).not.toBe(first.runDir);
    expect(r.stderr).toContain(
      `warning: ${PROJECT} has uncommitted changes now: the rerun runs them (the run had changes too: see its git.diff)`,
    );
    const script = (dir: string) => readFileSync(join(dir, "job.sbatch"), "utf8");
    expect(script(again.runDir)).toBe(script(first.runDir).replaceAll(first.runDir, again.runDir));
    expect(record(again.runDir).request).toEqual(record(first.runDir).request);
    const logs = hpcjob("alice", ["logs", "-f", again.jobId]);
    expect(logs.status, logs.stderr).toBe(0);
    expect(logs.stdout).toContain("v2 ['--lr', '1e-3']");
  }, 120_000);

  it("warns when the workdir is at another commit now; --dry-run prints the script and submits nothing", () => {
    asAlice(`cd ${PROJECT} && git add train.py weights.bin && git commit -q -m two && rm notes.txt`);
    const now = asAlice(`git -C ${PROJECT} rev-parse HEAD`).trim();
    const runs = () => asAlice("ls ~/.hpcjob/runs").trim().split("\n").length;
    const before = runs();
    const r = hpcjob("alice", ["rerun", first.jobId, "--dry-run"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`warning: ${PROJECT} is at commit ${now} now, the run was at ${commit}`);
    expect(r.stderr).toContain("warning: the run had uncommitted changes (its git.diff) that");
    const dir = /^#SBATCH --output=(\S+)\/job\.log$/m.exec(r.stdout)?.[1] ?? "";
    expect(dir).toMatch(/^\/home\/alice\/\.hpcjob\/runs\/\d{8}-\d{6}-train$/);
    expect(r.stdout).toBe(readFileSync(join(first.runDir, "job.sbatch"), "utf8").replaceAll(first.runDir, dir));
    expect(runs()).toBe(before);
  });

  it("a run recorded by an older hpcjob (no whole request) is exit 2, saying so", () => {
    const dir = "/home/alice/.hpcjob/runs/20200101-000000-old";
    asAlice(
      `mkdir -p ${dir} && echo 1 > ${dir}/job.id && echo '{"hpcjob":"hpcjob 0.0.9","kind":"batch","cluster":"loopback"}' > ${dir}/request.json`,
    );
    const r = hpcjob("alice", ["rerun", dir]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `hpcjob: ${dir}/request.json (made by hpcjob 0.0.9) has no "request": it was made by an older hpcjob, which did not record the whole request; submit the job again with hpcjob batch or hpcjob jupyter\n`,
    );
    asAlice(`rm -rf ${dir}`);
  });
});

describe("from a laptop, over SSH", () => {
  /** The login node as a laptop's ~/.ssh/config names it (the alias the loopback-remote profile uses, as the other e2e files write it). */
  const REMOTE = ["--cluster", "loopback-remote"];
  const laptop = (args: string[]) => hpcjob("alice", args, { env: laptopEnv() });

  it("the manifest has the git state read on the cluster, and show and rerun --dry-run reach the run through the login node", () => {
    runAs("alice", ["bash", "-c", "printf '%s' \"$1\" > ~/.ssh/config && chmod 600 ~/.ssh/config", "x", LOGIN_ALIAS]);
    asAlice(`printf '# from the laptop\\n' >> ${PROJECT}/train.py`);
    const head = asAlice(`git -C ${PROJECT} rev-parse HEAD`).trim();
    const r = laptop(["batch", ...REMOTE, "--image", IMAGE, "--workdir", PROJECT, "--json", "train.py"]);
    expect(r.status, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout) as { jobId: string; runDir: string };
    expect(record(run.runDir).git).toMatchObject({ commit: head, branch: "main", dirty: true, diff: "git.diff" });
    expect(readFileSync(join(run.runDir, "git.diff"), "utf8")).toContain("+# from the laptop\n");
    const shown = laptop(["show", run.jobId, ...REMOTE, "--json"]);
    expect(shown.status, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toEqual(record(run.runDir));
    const dry = laptop(["rerun", run.jobId, ...REMOTE, "--dry-run"]);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stderr).toContain(`warning: ${PROJECT} has uncommitted changes now: the rerun runs them`);
    const dir = /^#SBATCH --output=(\S+)\/job\.log$/m.exec(dry.stdout)?.[1] ?? "";
    expect(dry.stdout).toBe(readFileSync(join(run.runDir, "job.sbatch"), "utf8").replaceAll(run.runDir, dir));
  }, 120_000);
});
