/**
 * The right Slurm: on a login node of another cluster (its `scontrol show
 * config` answers ClusterName=alvis), a job for the loopback cluster (whose
 * profile names slurm.clusterName hpcjob-test) goes over SSH to the loopback
 * login node, and the other cluster's sbatch is never run.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aliceLogins, cancelAll, hpcjob, requireCluster, STAGE, stage, testImages } from "./harness.js";

let IMAGE = "";
const OTHER = `${STAGE}/other-cluster`;
const USED = `${OTHER}/used`;

/** Slurm commands of a cluster called alvis: scontrol says so, the rest record that they ran and refuse. */
function otherClusterBin(): void {
  const refuse = `#!/bin/sh\necho "$0 $*" >> ${USED}\necho "$(basename "$0"): error: this is alvis's Slurm" >&2\nexit 1\n`;
  const scontrol = `#!/bin/sh\nif [ "$1 $2" = "show config" ]; then printf 'Configuration data as of now\\nClusterName             = alvis\\nMaxArraySize            = 1001\\n'; exit 0; fi\n${refuse.slice(10)}`;
  const script = [
    `mkdir -p ${OTHER}/bin && chmod 777 ${OTHER}`,
    ...["sbatch", "squeue", "scancel", "sinfo"].map((c) => `printf '%s' "$1" > ${OTHER}/bin/${c}`),
    `printf '%s' "$2" > ${OTHER}/bin/scontrol`,
    `chmod 755 ${OTHER}/bin/*`,
  ].join(" && ");
  expect(spawnSync("bash", ["-c", script, "x", refuse, scontrol]).status).toBe(0);
}

/** alice's environment on the other cluster's login node: its Slurm first on PATH. */
const onOtherLogin = () => ({ PATH: `${OTHER}/bin:${STAGE}/standins:/usr/local/bin:/usr/bin:/bin` });

beforeAll(() => {
  requireCluster();
  cancelAll();
  stage();
  otherClusterBin();
  expect(spawnSync("runuser", ["-u", "alice", "--", "mkdir", "-p", "/home/alice/work"], { cwd: "/" }).status).toBe(0);
  IMAGE = testImages("alice").sif;
});
afterAll(() => {
  cancelAll();
  rmSync(OTHER, { recursive: true, force: true });
});

describe("on a login node of another cluster", () => {
  it("submits to the profile's cluster over SSH and never runs the local sbatch", () => {
    rmSync(USED, { force: true });
    const before = aliceLogins();
    const r = hpcjob(
      "alice",
      [
        "batch",
        "--cluster",
        "loopback-ssh",
        "--image",
        IMAGE,
        "--follow",
        "--",
        "bash",
        "-c",
        'echo "ran on $SLURM_CLUSTER_NAME in image $HPCJOB_TEST_IMAGE"',
      ],
      {
        env: onOtherLogin(),
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("ran on hpcjob-test");
    expect(r.stdout).toContain("in image jupyter\n");
    expect(aliceLogins() - before).toBe(1);
    expect(existsSync(USED) ? readFileSync(USED, "utf8") : "").toBe("");
  });

  it("looks at that cluster's jobs over SSH too", () => {
    rmSync(USED, { force: true });
    const before = aliceLogins();
    const r = hpcjob("alice", ["ps", "--cluster", "loopback-ssh", "--json"], { env: onOtherLogin() });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toBeInstanceOf(Array);
    expect(aliceLogins() - before).toBe(1);
    expect(existsSync(USED)).toBe(false);
  });

  it("--local still submits to this machine's Slurm, whose refusal is shown", () => {
    rmSync(USED, { force: true });
    const r = hpcjob("alice", ["batch", "--cluster", "loopback-ssh", "--image", IMAGE, "--local", "--", "true"], { env: onOtherLogin() });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^hpcjob: sbatch refused the job: sbatch: error: this is alvis's Slurm; the script is /);
    expect(readFileSync(USED, "utf8")).toMatch(/sbatch --parsable /);
  });

  it("on the cluster's own login node stays local (no SSH login)", () => {
    const before = aliceLogins();
    const r = hpcjob("alice", [
      "batch",
      "--cluster",
      "loopback",
      "--image",
      IMAGE,
      "--follow",
      "--",
      "bash",
      "-c",
      'echo "here on $SLURM_CLUSTER_NAME"',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("here on hpcjob-test");
    expect(aliceLogins()).toBe(before);
  });
});
