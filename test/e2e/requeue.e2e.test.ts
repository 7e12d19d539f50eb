/**
 * batch --requeue end to end on the loopback cluster, as alice: the job's
 * program (Python in the real test image) starts fresh; Slurm's signal to the
 * batch shell, sent as Slurm sends it before the time limit or at preemption
 * (`scancel --batch --signal=USR1`), reaches the program inside the container,
 * which writes a checkpoint in its working folder; `scontrol requeue` brings
 * the job back, and the program resumes from the checkpoint and sees
 * SLURM_RESTART_COUNT=1. `batch --follow` follows both runs to the end (a
 * requeued job pending again is not its end), and job.log keeps both.
 * Runtimes: the Apptainer stand-in, pyxis's srun stand-in, and Debian's real
 * ch-run on a SquashFS file (where ch-run stays the program's parent and does
 * not pass signals on) and on an image directory (where it becomes the program).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cancelAll, requireCluster, runAs, stage, startHpcjob, testImages, until, workDir } from "./harness.js";

/** The manifest test/cluster/images.sh writes (the Charliecloud images alice converted). */
const MANIFEST = "/var/cache/hpcjob-test-images/images.json";

/**
 * The program: fresh, it counts steps until it is stopped and writes its step
 * to checkpoint.txt (write, then rename) on SIGUSR1, going on afterwards, as a
 * training loop would; with a checkpoint it resumes from it and ends.
 */
const PROGRAM = `import os, signal, sys, time
restarts = os.environ.get("SLURM_RESTART_COUNT")
if os.path.exists("checkpoint.txt"):
    print(f"resumed from step {open('checkpoint.txt').read()} (SLURM_RESTART_COUNT={restarts})", flush=True)
    sys.exit(0)
print(f"starting fresh (SLURM_RESTART_COUNT={restarts})", flush=True)
step = 0
def checkpoint(signum, frame):
    with open("checkpoint.tmp", "w") as f:
        f.write(str(step))
    os.replace("checkpoint.tmp", "checkpoint.txt")
    print(f"signal {signal.Signals(signum).name}: checkpoint at step {step}", flush=True)
signal.signal(signal.SIGUSR1, checkpoint)
open("started", "w").close()
while step < 900:
    step += 1
    time.sleep(0.2)
sys.exit(3)
`;

interface Case {
  name: string;
  cluster: string;
  image: () => string;
  /** PATH for the job: the stand-ins first, or the system's only (no stand-in can answer for ch-run). */
  path?: string;
}

let images: { sif: string; sqsh: string; chSqfs: string; chDir: string };

const CASES: Case[] = [
  { name: "apptainer", cluster: "loopback", image: () => images.sif },
  { name: "pyxis", cluster: "loopback-pyxis", image: () => images.sqsh },
  { name: "charliecloud-sqfs", cluster: "loopback-charliecloud", image: () => images.chSqfs, path: "/usr/local/bin:/usr/bin:/bin" },
  { name: "charliecloud-dir", cluster: "loopback-charliecloud", image: () => images.chDir, path: "/usr/local/bin:/usr/bin:/bin" },
];

beforeAll(() => {
  requireCluster();
  stage();
  const t = testImages("alice");
  const m = JSON.parse(readFileSync(MANIFEST, "utf8")) as { images: { nojupyter: { charliecloudSqfs: string; charliecloudDir: string } } };
  images = {
    sif: t.nojupyterSif,
    sqsh: t.nojupyterSqsh,
    chSqfs: m.images.nojupyter.charliecloudSqfs,
    chDir: m.images.nojupyter.charliecloudDir,
  };
}, 120_000);

afterAll(() => cancelAll());

// Side by side: Slurm holds each requeued job back for 120 s (its credentials' lifetime, cred_expire), and the holds overlap.
describe.concurrent("batch --requeue", () => {
  it.each(CASES)(
    "with $name: SIGUSR1 reaches the program in the container; requeued, it resumes from its checkpoint with SLURM_RESTART_COUNT=1",
    async (c) => {
      const folder = join(workDir("alice"), `requeue-${c.name}`);
      const setup = runAs("alice", ["bash", "-c", 'rm -rf "$1" && mkdir -p "$1" && printf %s "$2" > "$1/ckpt.py"', "x", folder, PROGRAM]);
      expect(setup.stderr).toBe("");
      const run = startHpcjob(
        "alice",
        ["batch", "--cluster", c.cluster, "--image", c.image(), "--workdir", folder, "--requeue", "--follow", "ckpt.py"],
        c.path ? { env: { PATH: c.path } } : {},
      );
      await until("the program to start", () => existsSync(join(folder, "started")), 120_000);
      const jobId = /submitted job (\d+)/.exec(run.stderr())?.[1] ?? "";
      expect(jobId).toMatch(/^\d+$/);
      await until("hpcjob to see the job running", () => run.stderr().includes(`job ${jobId} is running`), 30_000);

      // As Slurm signals the batch shell before the time limit (--signal=B:USR1@...).
      const signalled = spawnSync("scancel", ["--batch", "--signal=USR1", jobId], { encoding: "utf8" });
      expect(signalled.stderr).toBe("");
      await until("the checkpoint", () => existsSync(join(folder, "checkpoint.txt")), 30_000);
      const requeued = spawnSync("scontrol", ["requeue", jobId], { encoding: "utf8" });
      expect(requeued.stderr).toBe("");
      // The watcher sees it queued again (it asks at least every 10 s while a job runs) and says so.
      await until("hpcjob to say the job was requeued", () => run.stderr().includes(`job ${jobId} was requeued`), 30_000);

      const status = await Promise.race([run.done, new Promise<number>((r) => setTimeout(() => r(-2), 240_000))]);
      const out = run.stdout();
      expect(status, `${out}\n${run.stderr()}`).toBe(0);
      // The followed log: both runs, in order, the signal passed on by the batch shell.
      const step = /checkpoint at step (\d+)/.exec(out)?.[1];
      expect(step).toBeDefined();
      const order = [
        "starting fresh (SLURM_RESTART_COUNT=0)",
        "hpcjob: got SIGUSR1; passing it on to the program",
        `signal SIGUSR1: checkpoint at step ${step}`,
        `hpcjob: job ${jobId} was requeued; this is restart 1`,
        `resumed from step ${step} (SLURM_RESTART_COUNT=1)`,
        "hpcjob: the program exited with code 0",
      ];
      const at = order.map((line) => out.indexOf(line));
      expect(
        at.every((i) => i >= 0),
        `${order.filter((_, i) => (at[i] ?? -1) < 0).join(" | ")} missing in:\n${out}`,
      ).toBe(true);
      expect([...at].sort((a, b) => a - b)).toEqual(at);
      // The watcher did not take the first run's end for the job's.
      expect(run.stderr()).toMatch(new RegExp(`job ${jobId} ended: COMPLETED, exit code 0`));

      // job.log keeps both runs (--open-mode=append).
      const runDir = /run directory (\S+)/.exec(run.stderr())?.[1] ?? "";
      const log = readFileSync(join(runDir, "job.log"), "utf8");
      expect(log).toContain("starting fresh (SLURM_RESTART_COUNT=0)");
      expect(log).toContain(`resumed from step ${step} (SLURM_RESTART_COUNT=1)`);
      expect(log.match(/^hpcjob: job \d+ on /gm)?.length).toBe(2);
    },
    420_000,
  );
});
