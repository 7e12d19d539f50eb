/**
 * profile/doctor.ts's judgement and slurm/detect.ts's doctor sections, on
 * output recorded from the loopback cluster with accounting enforced
 * (test/fixtures/slurm/doctor-answers-*.txt: alice charged to her lab-b, to
 * lab-c which she is not in, and sacctmgr without a readable slurm.conf),
 * beside the probe detect recorded and the profile detect wrote from it.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { doctorFindings, type Finding, IMAGE_ROOM_KB } from "../../src/profile/doctor.js";
import { checkProfile } from "../../src/profile/rules.js";
import { type Profile, ProfileSchema } from "../../src/profile/schema.js";
import { renderDoctorJob } from "../../src/render/doctor.js";
import { parseAccounts } from "../../src/slurm/accounts.js";
import { type ClusterFacts, doctorScript, parseDoctor, parseProbe, versionCommand, withTestOnly } from "../../src/slurm/detect.js";

const ROOT = join(import.meta.dirname, "..", "..");
const fixture = (name: string) => readFileSync(join(ROOT, "test", "fixtures", "slurm", name), "utf8");

/** The profile clusters detect wrote for the loopback cluster (the golden), with `change` applied. */
// biome-ignore lint/suspicious/noExplicitAny: a profile as parsed YAML, changed in place by each test.
function detected(change: (p: Record<string, any>) => void = () => {}): Profile {
  const raw = parse(readFileSync(join(ROOT, "test", "golden", "loopback.detected.yaml"), "utf8"));
  change(raw);
  const profile = ProfileSchema.parse(raw);
  // Each profile here is one a user could have: it passes the cross-field rules too.
  expect(checkProfile(profile, profile.name)).toEqual([]);
  return profile;
}

/** The loopback cluster's facts with the test-only answers of `answers` (a doctor fixture). */
function facts(answers: string, probe = "detect-probe-login.txt"): ClusterFacts {
  return withTestOnly(parseProbe(fixture(probe)), fixture(answers));
}

/** Doctor's answers in a recorded output: its own sections and the user's accounts, as the command reads them. */
const answersOf = (name: string) => ({ ...parseDoctor(fixture(name)), associations: parseAccounts(fixture(name)) });

const failed = (fs: Finding[]) => fs.filter((f) => !f.ok).map((f) => ({ kind: f.kind, text: f.text, fix: f.fix }));

describe("doctor's answers", () => {
  it("reads the account's test-only, the user's associations on this cluster and the image folder's write test and df", () => {
    const a = answersOf("doctor-answers-alice.txt");
    expect(a.account?.accepted).toBe(true);
    expect(a.associations).toEqual({ accounts: ["lab-a", "lab-b"], defaultAccount: "lab-a" });
    expect(a.imageDir).toEqual({ tested: "/home/alice/.hpcjob/images", writable: true, said: "", availableKb: 64586180 });
    expect(answersOf("doctor-answers-not-member.txt").account).toEqual({
      accepted: false,
      said: "allocation failure: Invalid account or account/partition combination specified",
    });
  });

  it("says why the accounts could not be read, and why the folder is not writable", () => {
    const a = answersOf("doctor-answers-no-accounting.txt");
    expect(a.account).toBeUndefined();
    expect(a.associations).toEqual({
      problem:
        "sacctmgr: error: s_p_parse_file: cannot stat file /nonexistent/slurm.conf: No such file or directory, retrying in 1sec up to 60sec",
    });
    expect(a.imageDir?.writable).toBe(false);
    expect(a.imageDir?.said).toMatch(/^mktemp: failed to create file via template .*Permission denied$/);
  });

  it("asks in one script whose every value is quoted, and whose write test leaves nothing behind", () => {
    const s = doctorScript({ account: "lab'a", partition: "gpu", imageDir: "/tmp/it's here" });
    expect(s).toContain("--account='lab'\\''a'");
    expect(s).toContain("d='/tmp/it'\\''s here'");
    expect(spawnSync("bash", ["-n", "-c", s]).status).toBe(0);
    const dir = spawnSync("mktemp", ["-d"], { encoding: "utf8" }).stdout.trim();
    const r = spawnSync("bash", ["-c", doctorScript({ partition: "gpu", imageDir: `${dir}/not/yet` })], { encoding: "utf8" });
    expect(parseDoctor(r.stdout).imageDir).toMatchObject({ tested: dir, writable: true });
    expect(spawnSync("ls", ["-A", dir], { encoding: "utf8" }).stdout).toBe("");
  });
});

describe("doctor's findings", () => {
  it("passes the profile clusters detect wrote, with the account alice is in", () => {
    const fs = doctorFindings(detected(), facts("doctor-answers-alice.txt"), answersOf("doctor-answers-alice.txt"), {
      account: "lab-b",
    });
    expect(failed(fs)).toEqual([]);
    expect(fs.map((f) => f.kind)).toEqual([
      "partition",
      "gpu",
      "gpu",
      "gpu",
      "time",
      "time",
      "gpu-form",
      "runtime",
      "image-dir",
      "account",
    ]);
  });

  it("reports a wrong partition, a wrong GPU type, a time above the partition's and an account alice is not in, each with its fix", () => {
    const profile = detected((p) => {
      p.slurm.partitions[0].gpus[0].type = "H100";
      p.slurm.partitions[0].maxTime = "7-00:00:00";
      p.slurm.partitions[1].maxTime = "02:00:00";
      p.slurm.partitions.push({ name: "bigmem", maxTime: "1-00:00:00" });
      p.jupyter.time = "3-00:00:00";
    });
    const fs = doctorFindings(profile, facts("doctor-answers-not-member.txt"), answersOf("doctor-answers-not-member.txt"), {
      account: "lab-c",
    });
    expect(failed(fs)).toEqual([
      {
        kind: "partition",
        text: "slurm.partitions[3] lists partition bigmem, which the cluster does not have",
        fix: "remove it, or rename it to one of: gpu, short, cpu",
      },
      {
        kind: "gpu",
        text: "partition gpu lists type H100, which its nodes do not have (sinfo: A40 x2, T4 x1)",
        fix: "slurm.partitions[0].gpus[0].type: one of A40, T4",
      },
      {
        kind: "time",
        text: "partition gpu's maxTime 7-00:00:00 is above the cluster's MaxTime 2-00:00:00",
        fix: "slurm.partitions[0].maxTime: 2-00:00:00",
      },
      {
        kind: "time",
        text: "partition short's maxTime 02:00:00 is above the cluster's MaxTime 01:00:00",
        fix: "slurm.partitions[1].maxTime: 01:00:00",
      },
      {
        kind: "time",
        text: "jupyter.time 3-00:00:00 is above partition gpu's MaxTime 2-00:00:00: Slurm keeps such a job pending forever",
        fix: "jupyter.time: 2-00:00:00",
      },
      {
        kind: "account",
        text: "account lab-c: you are not in it; yours: lab-a, lab-b",
        fix: "set account: lab-a (one of yours) in ~/.config/hpcjob/config.yaml or the profile's slurm.account.default",
      },
    ]);
    // Refused for the account, the GPU form tests say nothing about the form.
    expect(fs.some((f) => f.kind === "gpu-form")).toBe(false);
  });

  it("reports a default partition the cluster lacks, a count per node that differs and a missing runtime", () => {
    const profile = detected((p) => {
      p.slurm.partition = "gpuq";
      p.slurm.partitions[0].name = "gpuq";
      p.slurm.partitions[1].gpus[1].perNode = 4;
      p.container.runtime = "enroot";
    });
    const answers = answersOf("doctor-answers-alice.txt");
    expect(failed(doctorFindings(profile, facts("doctor-answers-alice.txt", "detect-probe-ssh.txt"), answers))).toEqual([
      {
        kind: "partition",
        text: "slurm.partition names partition gpuq, which the cluster does not have",
        fix: "use one of: gpu, short, cpu",
      },
      {
        kind: "gpu",
        text: "partition short lists 4 T4 per node, where its nodes have 1 (sinfo: A40 x2, T4 x1)",
        fix: "slurm.partitions[1].gpus[1].perNode: 1",
      },
      {
        kind: "runtime",
        text: "container.runtime enroot is not on the login node (not on PATH, not a module)",
        fix: "container.runtime: charliecloud (found: charliecloud)",
      },
    ]);
  });

  it("reports a GPU form and --mem the site refuses, with the form it accepts", () => {
    const f = facts("detect-testonly-rejected.txt");
    const fs = doctorFindings(detected(), f, { associations: { accounts: [] } });
    expect(failed(fs)).toEqual([
      {
        kind: "gpu-form",
        text: "slurm.gpuDirective gpus-per-node is refused (sbatch --test-only --partition=gpu --gpus-per-node=A40:1): sbatch: error: Batch job submission failed: Invalid generic resource (gres) specification",
        fix: "slurm.gpuDirective: gres",
      },
      {
        kind: "mem",
        text: "sbatch --test-only refuses --mem: sbatch: error: Memory specification can not be satisfied sbatch: error: Batch job submission failed: Requested node configuration is not available",
        fix: 'slurm.skipDirectives: ["mem"]',
      },
    ]);
    const fixed = detected((p) => {
      p.slurm.gpuDirective = "gres";
      p.slurm.skipDirectives = ["mem"];
    });
    expect(failed(doctorFindings(fixed, f, { associations: { accounts: [] } }))).toEqual([]);
  });

  it("says when the accounts cannot be read, when none is set where one is required, and when the image folder is full or not writable", () => {
    const none = answersOf("doctor-answers-no-accounting.txt");
    const required = detected((p) => {
      p.slurm.account = { required: true, hint: "run projinfo" };
    });
    expect(failed(doctorFindings(required, facts("doctor-answers-alice.txt"), none))).toEqual([
      {
        kind: "image-dir",
        text: "container.imageDir $HOME/.hpcjob/images: cannot write in /root (mktemp: failed to create file via template ‘/root/.hpcjob-doctor.XXXXXX’: Permission denied)",
        fix: "set container.imageDir to a folder you can write with room for images (project or group storage)",
      },
      {
        kind: "account",
        text: "the cluster needs an account and none is set (run projinfo); your accounts could not be read (sacctmgr: error: s_p_parse_file: cannot stat file /nonexistent/slurm.conf: No such file or directory, retrying in 1sec up to 60sec)",
        fix: "set account: in ~/.config/hpcjob/config.yaml",
      },
    ]);
    const full = {
      associations: { accounts: [] },
      imageDir: { tested: "/scratch", writable: true, said: "", availableKb: IMAGE_ROOM_KB - 1024 },
    };
    expect(failed(doctorFindings(detected(), facts("doctor-answers-alice.txt"), full))).toEqual([
      {
        kind: "image-dir",
        text: "container.imageDir $HOME/.hpcjob/images: /scratch has only 5119 MB free (df)",
        fix: "set container.imageDir to a folder you can write with room for images (project or group storage)",
      },
    ]);
  });
});

describe("the --job script", () => {
  it("asks for one GPU the profile's way, runs the profile's environment, then the runtime's version", () => {
    const profile = detected((p) => {
      p.slurm.gpuDirective = "gres";
      p.slurm.directives = ["--constraint=fast"];
      p.environment = { modules: ["apptainer/1.3"], setup: ["export X=1"] };
    });
    const script = renderDoctorJob(profile, {
      partition: "gpu",
      gpuType: "A40",
      account: "lab-a",
      log: "/home/alice/.hpcjob/doctor-1/gpu log",
      version: versionCommand("apptainer") ?? "",
    });
    expect(script).toMatch(/^#!\/bin\/bash\n#SBATCH --account=lab-a\n#SBATCH --constraint=fast\n#SBATCH --gres=gpu:A40:1\n/);
    expect(script).toContain("#SBATCH --output='/home/alice/.hpcjob/doctor-1/gpu log'\n");
    expect(script).toContain("module load apptainer/1.3 ||");
    expect(script.trimEnd().endsWith("export X=1\napptainer --version")).toBe(true);
    expect(spawnSync("bash", ["-n", "-c", script]).status).toBe(0);
    expect([versionCommand("enroot"), versionCommand("pyxis"), versionCommand("charliecloud"), versionCommand("none")]).toEqual([
      "enroot version",
      "enroot version",
      "ch-run --version",
      undefined,
    ]);
  });
});
