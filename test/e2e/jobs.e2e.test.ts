/**
 * End to end on the loopback Slurm cluster, as the non-root user alice: the
 * tests that prove the product. They fail (never skip) when the cluster is
 * not running. One file, run in order: they share one compute node.
 * Jobs run inside the real test image (test/cluster/images.sh) through the
 * Apptainer stand-in (profile loopback) or srun with pyxis (loopback-pyxis);
 * each kind of job proves it ran inside: Jupyter reads a file that exists
 * only in the image, a batch job's Python sees the image's files and ENV.
 */
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  blockNode,
  cancelAll,
  countedSqueue,
  hpcjob,
  imagePaths,
  jobState,
  jupyterFile,
  markerLink,
  NODE,
  requireCluster,
  runAs,
  startHpcjob,
  type TestImages,
  testImages,
  until,
  workDir,
} from "./harness.js";

const HOME = "/home/alice";
const IMAGE = imagePaths("alice").sif;
const BROKEN = `${HOME}/images/broken.sif`;
const JUPYTER = ["jupyter", "--cluster", "loopback", "--image", IMAGE, "--json"];

interface JupyterResult {
  jobId: string;
  cluster: string;
  node: string;
  port: number;
  token: string;
  url: string;
  tunnel: string;
  runDir: string;
  log: string;
}

/**
 * Files alice's jobs need: a work folder, the real images, a file that is not
 * an image, a training script that shows where its Python runs, and in the
 * work folder (the notebook's folder) a link to the image's marker file.
 */
function prepareAlice(): void {
  const script = [
    "mkdir -p ~/work ~/images",
    `printf 'not an image\\n' > ${BROKEN}`,
    "cat > ~/work/train.py <<'PY'",
    "import os, sys",
    "print('args:' + repr(sys.argv[1:]), flush=True)",
    "print('gpus:' + os.environ.get('CUDA_VISIBLE_DEVICES', 'none'), flush=True)",
    "print('image:' + open('/etc/hpcjob-test-image').read().strip(), flush=True)",
    "print('image env:' + os.environ.get('HPCJOB_TEST_IMAGE', 'unset'), flush=True)",
    "print('python:' + sys.executable, flush=True)",
    "sys.exit(int(os.environ.get('TRAIN_EXIT', '0')))",
    "PY",
  ].join("\n");
  spawnSync("runuser", ["-u", "alice", "--", "bash", "-c", script], { cwd: "/", stdio: "inherit" });
  spawnSync("runuser", ["-u", "bob", "--", "mkdir", "-p", "/home/bob/work"], { cwd: "/", stdio: "inherit" });
  testImages("bob");
  images = testImages("alice");
  marker = markerLink("alice", images);
}

/** The real images and the name of the marker link in the work folder (prepareAlice). */
let images: TestImages;
let marker: string;

/** The lines train.py prints about where it ran, when it ran inside the test image (the jupyter one). */
function ranInImage(out: string): void {
  expect(out).toContain(`image:${images.markerText}\n`);
  expect(out).toContain("image env:jupyter\n");
  expect(out).toMatch(/^python:\/usr\/bin\/python3$/m);
}

/** Every process's command line, for looking for a leaked token. */
function allCommandLines(): string {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .map((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, "utf8").replaceAll("\0", " ");
      } catch {
        return "";
      }
    })
    .join("\n");
}

/** GET a URL from this machine; the status code, or 0 if nothing answers. */
async function status(url: string): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(5000) })).status;
  } catch {
    return 0;
  }
}

/**
 * The "laptop" side: alice runs the printed tunnel command as it is; `check`
 * gets Jupyter's /api/status URL through it once it answers.
 */
async function throughTunnel(result: JupyterResult, check: (api: string) => Promise<void>): Promise<void> {
  const tunnel = spawn("runuser", ["-u", "alice", "--", "bash", "-c", `exec ${result.tunnel}`], { stdio: "ignore" });
  try {
    const api = `http://127.0.0.1:${result.port}/api/status`;
    await until("the tunnel to answer", async () => (await status(`${api}?token=${result.token}`)) === 200, 20_000);
    await check(api);
  } finally {
    tunnel.kill();
  }
}

beforeAll(() => {
  requireCluster();
  cancelAll();
  prepareAlice();
});
afterAll(() => cancelAll());

describe("jupyter", () => {
  // The first test starts one Jupyter job; the next ones look at it and the third cancels it.
  let result: JupyterResult;
  afterAll(() => cancelAll());

  it("submits, waits, and prints a tunnel that reaches Jupyter as printed", async () => {
    const r = hpcjob("alice", [...JUPYTER, "--timeout", "2m"]);
    expect(r.status, r.stderr).toBe(0);
    result = JSON.parse(r.stdout) as JupyterResult;
    expect(result).toMatchObject({ cluster: "loopback", node: NODE, jobId: expect.stringMatching(/^\d+$/) });
    expect(result.tunnel).toBe(`ssh -N -L ${result.port}:${NODE}:${result.port} -p 2222 alice@127.0.0.1`);
    expect(result.url).toBe(`http://localhost:${result.port}/?token=${result.token}`);
    expect(r.stderr).toMatch(/submitted job \d+/);

    await throughTunnel(result, async (api) => {
      expect(await status(`${api}?token=${result.token}`)).toBe(200);
      expect(await status(api)).toBe(403);
      expect(await status(`${api}?token=wrong`)).toBe(403);
      // Jupyter serves the work folder, and the link there to a file only the image has is readable: Jupyter runs inside the image.
      expect(await jupyterFile(api, result.token, marker)).toBe(`${images.markerText}\n`);
    });
  });

  it("keeps the token private: 0600 connection.json in a 0700 run dir, not in the script, log or any command line", () => {
    const conn = join(result.runDir, "connection.json");
    expect(statSync(result.runDir).mode & 0o777).toBe(0o700);
    expect(statSync(conn).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(conn, "utf8"))).toMatchObject({ node: NODE, port: result.port, token: result.token });
    const bob = runAs("bob", ["cat", conn]);
    expect(bob.status).not.toBe(0);
    expect(bob.stderr).toMatch(/Permission denied/);
    expect(readFileSync(join(result.runDir, "job.sbatch"), "utf8")).not.toContain(result.token);
    expect(readFileSync(result.log, "utf8")).not.toContain(result.token);
    expect(allCommandLines()).not.toContain(result.token);
    const request = JSON.parse(readFileSync(join(result.runDir, "request.json"), "utf8"));
    expect(request).toMatchObject({
      request: { kind: "jupyter", cluster: "loopback", image: IMAGE },
      login: { host: "127.0.0.1", port: 2222, user: "alice" },
    });
  });

  it("ps lists it, attach gives the same connection, cancel ends it", async () => {
    const ps = hpcjob("alice", ["ps", "--json"]);
    expect(ps.status, ps.stderr).toBe(0);
    expect(JSON.parse(ps.stdout)).toContainEqual(expect.objectContaining({ jobId: result.jobId, state: "RUNNING", runDir: result.runDir }));
    const table = hpcjob("alice", ["ps"]);
    expect(table.stdout).toMatch(new RegExp(`^${result.jobId} +jupyter +RUNNING +\\S+ +${NODE} +${result.runDir}$`, "m"));

    const attach = hpcjob("alice", ["attach", result.jobId, "--json"]);
    expect(attach.status, attach.stderr).toBe(0);
    expect(JSON.parse(attach.stdout)).toMatchObject({
      jobId: result.jobId,
      node: result.node,
      port: result.port,
      token: result.token,
      tunnel: result.tunnel,
    });
    const byName = hpcjob("alice", ["attach", result.runDir.split("/").pop() as string]);
    expect(byName.stdout).toContain(result.tunnel);

    const cancel = hpcjob("alice", ["cancel", result.jobId]);
    expect(cancel.status, cancel.stderr).toBe(0);
    expect(cancel.stdout).toContain(`cancelled job ${result.jobId}`);
    await until("the job to end", () => !/RUNNING|COMPLETING/.test(jobState(result.jobId)), 30_000);
    await until(
      "connection.json to be removed",
      () => {
        try {
          statSync(join(result.runDir, "connection.json"));
          return false;
        } catch {
          return true;
        }
      },
      15_000,
    );
  });

  it("a container that fails ends hpcjob with exit 1 and the runtime's error from the log, within a minute", () => {
    const started = Date.now();
    const r = hpcjob("alice", ["jupyter", "--cluster", "loopback", "--image", BROKEN, "--timeout", "2m"]);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /hpcjob: job \d+ ended \(FAILED, exit code 1\) before Jupyter was ready; the script and log are in \/home\/alice\/\.hpcjob\/runs\//,
    );
    expect(r.stderr).toContain("image format not recognized");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("an image without Jupyter ends hpcjob with exit 1 and Apptainer's message from the log, within a minute", () => {
    const started = Date.now();
    const r = hpcjob("alice", ["jupyter", "--cluster", "loopback", "--image", images.nojupyterSif, "--timeout", "2m"]);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/hpcjob: job \d+ ended \(FAILED, exit code 1\) before Jupyter was ready/);
    expect(r.stderr).toContain('FATAL:   "jupyter": executable file not found in $PATH');
    expect(r.stderr).toContain("is Jupyter installed in the image?");
  });

  it("a missing image is refused before anything is submitted", () => {
    const r = hpcjob("alice", ["jupyter", "--cluster", "loopback", "--image", `${HOME}/images/nope.sif`]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `hpcjob: image ${HOME}/images/nope.sif does not exist on the cluster; convert or copy it there first, or fix --image\n`,
    );
  });
});

describe("pyxis: srun --container-image with the image as enroot squashfs (profile loopback-pyxis)", () => {
  const PYXIS = ["--cluster", "loopback-pyxis"];
  afterEach(() => cancelAll());

  it("Jupyter runs inside the image in a job step and is reached through the printed tunnel", async () => {
    const r = hpcjob("alice", ["jupyter", ...PYXIS, "--image", images.sqsh, "--json", "--timeout", "2m"]);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as JupyterResult;
    expect(result).toMatchObject({ cluster: "loopback-pyxis", node: NODE });
    expect(result.tunnel).toBe(`ssh -N -L ${result.port}:${NODE}:${result.port} -p 2222 alice@127.0.0.1`);
    // srun made a real step of the job, and Jupyter is its task.
    const steps = spawnSync("squeue", ["-h", "-s", "-j", result.jobId, "-o", "%i"], { encoding: "utf8" }).stdout;
    expect(steps).toContain(`${result.jobId}.0`);
    await throughTunnel(result, async (api) => {
      expect(await status(`${api}?token=${result.token}`)).toBe(200);
      expect(await status(api)).toBe(403);
      expect(await jupyterFile(api, result.token, marker)).toBe(`${images.markerText}\n`);
    });
  });

  it("an image without Jupyter ends hpcjob with exit 1 and slurmstepd's and srun's messages from the log, within a minute", () => {
    const started = Date.now();
    const r = hpcjob("alice", ["jupyter", ...PYXIS, "--image", images.nojupyterSqsh, "--timeout", "2m"]);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/hpcjob: job \d+ ended \(FAILED, exit code 1\) before Jupyter was ready/);
    expect(r.stderr).toMatch(/slurmstepd(-[\w-]+)?: error: execve\(\): jupyter: No such file or directory\n/);
    expect(r.stderr).toContain(`srun: error: ${NODE}: task 0: Exited with exit code 2`);
  });

  it("batch --follow passes arguments to the image's Python and exits with its exit code", () => {
    const args = ["a b", "$(touch /tmp/pwned)", "it's"];
    const r = hpcjob("alice", ["batch", ...PYXIS, "--image", images.sqsh, "--env", "TRAIN_EXIT=5", "--follow", "train.py", ...args]);
    expect(r.stdout).toContain(`args:['a b', '$(touch /tmp/pwned)', "it's"]\n`);
    ranInImage(r.stdout);
    expect(r.stderr).toMatch(/job \d+ ended: FAILED, exit code 5/);
    expect(r.status).toBe(5);
  });
});

describe("batch", () => {
  afterEach(() => cancelAll());
  it("--follow passes arguments and a GPU to the program, streams its output and exits with its exit code", () => {
    const args = ["--lr", "3e-4", "a b", "$(touch /tmp/pwned)", "", "it's"];
    const r = hpcjob("alice", [
      "batch",
      "--cluster",
      "loopback",
      "--image",
      IMAGE,
      "--gpus",
      "A40:1",
      "--env",
      "TRAIN_EXIT=3",
      "--follow",
      "train.py",
      ...args,
    ]);
    expect(r.stdout).toContain(`args:${JSON.stringify(args).replaceAll('"', "'").replaceAll(",", ", ").replace("'it's'", '"it\'s"')}`);
    expect(r.stdout).toMatch(/^gpus:\d+$/m);
    ranInImage(r.stdout);
    expect(r.stderr).toMatch(/job \d+ ended: FAILED, exit code 3/);
    expect(r.status).toBe(3);
  });

  it("without --follow prints the job id, run directory and log, and --json gives them", () => {
    const r = hpcjob("alice", ["batch", "--cluster", "loopback", "--image", IMAGE, "--json", "train.py"]);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      jobId: expect.stringMatching(/^\d+$/),
      runDir: expect.stringContaining("/home/alice/.hpcjob/runs/"),
      log: expect.stringMatching(/job\.log$/),
    });
    const logs = hpcjob("alice", ["logs", "-f", out.jobId]);
    expect(logs.stdout).toContain("args:[]");
    ranInImage(logs.stdout);
    expect(logs.status).toBe(0);
  });

  it("sbatch's refusal is exit 1 with sbatch's own words, and the script stays in the run directory", () => {
    const r = hpcjob("alice", ["batch", "--cluster", "loopback", "--image", IMAGE, "--sbatch=--constraint=nosuchfeature", "train.py"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^hpcjob: sbatch refused the job: .*Invalid feature specification.*; the script is \/home\/alice\/\.hpcjob\/runs\/[^ ]+\/job\.sbatch\n/,
    );
  });

  it("with accounting enforced: an account alice is not in, and bob who has none, are told how to find theirs", () => {
    const fix = /the cluster accepts jobs only under a Slurm account you are in, .*sacctmgr -nP show assoc user=\$USER/;
    const other = hpcjob("alice", ["batch", "--cluster", "loopback", "--image", IMAGE, "--account", "lab-c", "train.py"]);
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/^hpcjob: sbatch refused the job: .*Invalid account or account\/partition combination specified; /);
    expect(other.stderr).toMatch(fix);
    // alice's second account works.
    const second = hpcjob("alice", ["batch", "--cluster", "loopback", "--image", IMAGE, "--account", "lab-b", "--follow", "--", "true"]);
    expect(second.status, second.stderr).toBe(0);
    const bob = hpcjob("bob", ["batch", "--cluster", "loopback", "--image", imagePaths("bob").sif, "--", "true"]);
    expect(bob.status).toBe(1);
    expect(bob.stderr).toMatch(fix);
  });
});

describe("waiting", () => {
  // Each test here blocks the node with another user's job; none may outlive its test.
  afterEach(() => cancelAll());
  it("shows why a job waits, survives the controller stopping for 10 s, and reaches Jupyter after", async () => {
    const blocker = blockNode();
    const run = startHpcjob("alice", [...JUPYTER, "--timeout", "3m"]);
    await until("the pending reason", () => /is pending: .*\(Resources\)/.test(run.stderr()), 30_000);

    const ctld = Number(readFileSync("/tmp/hpcjob-cluster/slurmctld.pid", "utf8"));
    process.kill(ctld, "SIGTERM");
    await until("slurmctld to stop", () => spawnSync("scontrol", ["ping"], { encoding: "utf8" }).stdout.includes("DOWN"), 20_000);
    await until("hpcjob to notice", () => run.stderr().includes("does not answer"), 40_000);
    await new Promise((r) => setTimeout(r, 10_000));
    const restarted = spawnSync("slurmctld", [], { encoding: "utf8" });
    expect(restarted.status, restarted.stderr).toBe(0);
    await until("hpcjob to see the controller again", () => run.stderr().includes("answers again"), 60_000);

    spawnSync("scancel", [blocker]);
    expect(await run.done, run.stderr()).toBe(0);
    const result = JSON.parse(run.stdout()) as JupyterResult;
    await throughTunnel(result, async (api) => expect(await status(`${api}?token=${result.token}`)).toBe(200));
  }, 180_000);

  it("batch --follow on a pending job says why it waits, asks squeue at most 8 times a minute, and ends with the exit code", async () => {
    const squeue = countedSqueue();
    const blocker = blockNode();
    const run = startHpcjob(
      "alice",
      ["batch", "--cluster", "loopback", "--image", IMAGE, "--env", "TRAIN_EXIT=3", "--follow", "train.py"],
      {
        env: { PATH: squeue.path },
      },
    );
    await until("the pending reason", () => /is pending: .*\(Resources\)/.test(run.stderr()), 30_000);
    // Watch 40 s of pending from the first call. The gaps only grow, so the
    // calls still to come in that first minute are at most its rest divided
    // by the last gap, and later minutes have fewer.
    await until("the first squeue call", () => squeue.calls().length > 0, 10_000);
    const first = squeue.calls()[0] as number;
    await new Promise((r) => setTimeout(r, first + 40_000 - Date.now()));
    const at = squeue.calls().filter((t) => t < first + 40_000);
    const gaps = at.slice(1).map((t, i) => t - (at[i] as number));
    expect(Math.min(...gaps), `gaps ${gaps}`).toBeGreaterThanOrEqual(2000);
    expect(
      gaps.filter((g, i) => i > 0 && g < (gaps[i - 1] as number) - 250),
      `gaps ${gaps}`,
    ).toEqual([]);
    const last = gaps.at(-1) as number;
    expect(at.length + Math.floor((60_000 - ((at.at(-1) as number) - first)) / last), `gaps ${gaps}`).toBeLessThanOrEqual(8);
    expect(jobState(/submitted job (\d+)/.exec(run.stderr())?.[1] as string)).toBe("PENDING");

    spawnSync("scancel", [blocker]);
    expect(await run.done, run.stderr()).toBe(3);
    expect(run.stdout()).toContain("args:[]");
    ranInImage(run.stdout());
    expect(run.stderr()).toMatch(/job \d+ ended: FAILED, exit code 3/);
  }, 120_000);

  it("Ctrl-C while pending cancels the job and says so", async () => {
    blockNode();
    const run = startHpcjob("alice", JUPYTER);
    await until("the job to pend", () => /submitted job (\d+)/.test(run.stderr()) && run.stderr().includes("is pending"), 30_000);
    const jobId = /submitted job (\d+)/.exec(run.stderr())?.[1] as string;
    process.kill(run.pid(), "SIGINT");
    expect(await run.done).toBe(130);
    expect(run.stderr()).toContain(`interrupted while waiting for job ${jobId}; cancelled job ${jobId}`);
    await until("the job to be gone", () => !/PENDING/.test(jobState(jobId)), 10_000);
  }, 60_000);

  it("--timeout while pending cancels the job; with --keep it stays and attach is suggested", async () => {
    blockNode();
    const r = hpcjob("alice", [...JUPYTER, "--timeout", "5s"]);
    expect(r.status).toBe(1);
    const jobId = /submitted job (\d+)/.exec(r.stderr)?.[1] as string;
    expect(r.stderr).toContain(`job ${jobId} was not ready within the --timeout; cancelled job ${jobId}`);
    await until("the job to be gone", () => !/PENDING/.test(jobState(jobId)), 10_000);

    const kept = hpcjob("alice", [...JUPYTER, "--timeout", "4s", "--keep"]);
    expect(kept.status).toBe(1);
    const keptId = /submitted job (\d+)/.exec(kept.stderr)?.[1] as string;
    expect(kept.stderr).toContain(`job ${keptId} keeps running: reconnect with hpcjob attach ${keptId}`);
    expect(jobState(keptId)).toBe("PENDING");
  }, 60_000);
});

describe("jobs that can never start", () => {
  afterEach(() => cancelAll());

  it("a job Slurm accepts but will never start is cancelled with the reason", () => {
    // The loopback profile says short allows 2 h; Slurm's own limit is 1 h.
    const r = hpcjob("alice", [
      "jupyter",
      "--cluster",
      "loopback",
      "--image",
      IMAGE,
      "--partition",
      "short",
      "--time",
      "1:30:00",
      "--timeout",
      "1m",
    ]);
    expect(r.status).toBe(1);
    const jobId = /submitted job (\d+)/.exec(r.stderr)?.[1] as string;
    // Slurm 22.05 gives PartitionConfig at first, PartitionTimeLimit later.
    expect(r.stderr).toMatch(
      new RegExp(`hpcjob: job ${jobId} will never start: .* \\((PartitionConfig|PartitionTimeLimit)\\); cancelled job ${jobId}`),
    );
    expect(jobState(jobId)).not.toBe("PENDING");
  });
});

describe("the working directory", () => {
  it("jobs run where hpcjob was started", () => {
    const r = hpcjob("alice", ["batch", "--cluster", "loopback", "--image", IMAGE, "--follow", "--", "pwd"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n")).toContain(workDir("alice"));
  });
});
