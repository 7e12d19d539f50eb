/**
 * slurm/detect.ts on output recorded from the loopback Slurm 22.05 cluster
 * (test/fixtures/slurm/detect-*.txt: the probe as alice on the login node and
 * over SSH, the test-only requests) and on hand-written variants of what
 * other sites print (GRES with sockets, untyped GPUs, several types, no GPUs,
 * infinite and UNLIMITED times).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chosenGpuForm, profileFromFacts } from "../../src/profile/detected.js";
import { ProfileSchema } from "../../src/profile/schema.js";
import {
  gpuProbeTarget,
  parseGres,
  parseProbe,
  parseSections,
  parseSinfo,
  probeScript,
  sinfoTime,
  testOnlyScript,
  withTestOnly,
} from "../../src/slurm/detect.js";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "slurm");
const fixture = (name: string) => readFileSync(join(FIXTURES, name), "utf8");

describe("the probe", () => {
  it("reads the loopback cluster as alice on the login node", () => {
    const f = parseProbe(fixture("detect-probe-login.txt"));
    expect(f.slurmVersion).toBe("22.05.8");
    expect(f.clusterName).toBe("hpcjob-test");
    expect(f.loginHost).toBe("vm");
    expect(f.maxArraySize).toBe(1001);
    expect(f).toMatchObject({ preemptType: "preempt/none", preemptMode: "OFF", jobRequeue: true });
    expect(f.partitions.map((p) => [p.name, p.isDefault, p.maxTime, p.defaultTime])).toEqual([
      ["gpu", true, "2-00:00:00", undefined],
      ["short", false, "01:00:00", undefined],
      ["cpu", false, "7-00:00:00", undefined],
    ]);
    expect(f.partitions[0]?.nodes).toEqual([
      {
        cpus: 2,
        memoryMb: 8000,
        gres: "gpu:A40:2,gpu:T4:1",
        gpus: [
          { type: "A40", count: 2 },
          { type: "T4", count: 1 },
        ],
      },
    ]);
    expect(f.runtimes.map((r) => [r.name, r.via])).toEqual([
      ["apptainer", "path"],
      ["singularity", "path"],
      ["enroot", "path"],
      ["charliecloud", "path"],
    ]);
    expect(f.runtimes[0]?.detail).toBe("/tmp/hpcjob-e2e/standins/apptainer, apptainer version 1.3.4-hpcjob-standin");
    expect(f.gpuProbe).toEqual({ partition: "gpu", type: "A40" });
  });

  it("over SSH finds what the login node's non-login PATH has: Charliecloud only", () => {
    const f = parseProbe(fixture("detect-probe-ssh.txt"));
    expect(f.runtimes.map((r) => r.name)).toEqual(["charliecloud"]);
    expect(f.partitions).toHaveLength(3);
  });

  it("finds pyxis in srun's help and runtimes among modules, and prefers apptainer", () => {
    const text = [
      "@@hpcjob-detect srun",
      "      --container-image=[USER@][REGISTRY#]IMAGE[:TAG]|PATH",
      "@@hpcjob-detect-exit 0",
      "@@hpcjob-detect modules",
      "apptainer/1.2.5",
      "enroot/3.4.1(default)",
      "@@hpcjob-detect-exit 0",
    ].join("\n");
    expect(parseProbe(text).runtimes.map((r) => [r.name, r.via, r.detail])).toEqual([
      ["apptainer", "module", "apptainer/1.2.5"],
      ["pyxis", "srun", "--container-image=[USER@][REGISTRY#]IMAGE[:TAG]|PATH"],
      ["enroot", "module", "enroot/3.4.1(default)"],
    ]);
  });

  it("keeps each section's text and exit status, even without a final newline", () => {
    const s = parseSections("\n@@hpcjob-detect a b\nx\ny\n\n@@hpcjob-detect-exit 3\n\n@@hpcjob-detect c\n\n@@hpcjob-detect-exit 0");
    expect([...s]).toEqual([
      ["a b", { text: "x\ny", code: 3 }],
      ["c", { text: "", code: 0 }],
    ]);
  });

  it("is one bash script whose sinfo format has explicit fields and | between them", () => {
    expect(probeScript()).toContain("sinfo -h -o '%P|%l|%L|%c|%m|%G|%a'");
    expect(probeScript()).toContain("bash -lc 'module -t avail'");
  });
});

describe("sinfo", () => {
  it("reads GRES in every shape sites print", () => {
    expect(parseGres("gpu:a100:4(S:0-1)")).toEqual([{ type: "a100", count: 4 }]);
    expect(parseGres("gpu:4")).toEqual([{ type: undefined, count: 4 }]);
    expect(parseGres("gpu:tesla:2,gpu:a40:2")).toEqual([
      { type: "tesla", count: 2 },
      { type: "a40", count: 2 },
    ]);
    expect(parseGres("gpu:a100:8(S:0,1),shard:32")).toEqual([{ type: "a100", count: 8 }]);
    expect(parseGres("(null)")).toEqual([]);
    expect(parseGres("gpu:A40:0")).toEqual([]);
  });

  it("reads times: padded or not, infinite, UNLIMITED, n/a", () => {
    expect(sinfoTime("1:00:00")).toBe("01:00:00");
    expect(sinfoTime("2-00:00:00")).toBe("2-00:00:00");
    expect(sinfoTime("infinite")).toBe("UNLIMITED");
    expect(sinfoTime("UNLIMITED")).toBe("UNLIMITED");
    expect(sinfoTime("30")).toBe("00:30:00");
    expect(sinfoTime("n/a")).toBeUndefined();
  });

  it("groups node kinds by partition, marks the default, and reads + as the smallest", () => {
    const parts = parseSinfo(fixture("detect-sinfo-variants.txt"));
    expect(parts.map((p) => [p.name, p.isDefault, p.maxTime, p.defaultTime, p.available, p.nodes.length])).toEqual([
      ["batch", true, "UNLIMITED", "01:00:00", true, 1],
      ["gpu-a100", false, "3-00:00:00", undefined, true, 2],
      ["legacy", false, "UNLIMITED", undefined, false, 1],
      ["mixed", false, "12:00:00", "00:30:00", true, 1],
    ]);
    expect(parts[1]?.nodes.map((n) => [n.cpus, n.memoryMb])).toEqual([
      [64, 1024000],
      [128, 2048000],
    ]);
    expect(parts[2]?.nodes[0]?.cpus).toBe(16);
    // The default partition has no GPUs: the GPU forms are tried in the first that has.
    expect(gpuProbeTarget(parts)).toEqual({ partition: "gpu-a100", type: "a100" });
  });
});

describe("sbatch --test-only", () => {
  const facts = parseProbe(fixture("detect-probe-login.txt"));

  it("tries one GPU in each form and --mem, with the cluster's names quoted", () => {
    const script = testOnlyScript(facts) ?? "";
    for (const option of ["--gpus-per-node=A40:1", "--gres=gpu:A40:1", "--gpus=A40:1", "--mem=100M"]) expect(script).toContain(option);
    expect(script).toContain("sbatch --test-only --partition=gpu ");
    const odd = testOnlyScript({ ...facts, gpuProbe: { partition: "gpu;touch x", type: "A40" } }) ?? "";
    expect(odd).toContain("--partition='gpu;touch x'");
  });

  it("takes the recorded answers: every form accepted here, so gpus-per-node", () => {
    const f = withTestOnly(facts, fixture("detect-testonly.txt"));
    expect(Object.values(f.gpuForms).map((t) => t.accepted)).toEqual([true, true, true]);
    expect(f.mem?.accepted).toBe(true);
    expect(chosenGpuForm(f)).toBe("gpus-per-node");
  });

  it("takes the form a site accepts and skips --mem when it is rejected", () => {
    const f = withTestOnly(facts, fixture("detect-testonly-rejected.txt"));
    expect(chosenGpuForm(f)).toBe("gres");
    expect(f.gpuForms["gpus-per-node"]?.said).toContain("Invalid generic resource");
    const p = ProfileSchema.parse(profileFromFacts(f, { name: "site" }));
    expect(p.slurm.gpuDirective).toBe("gres");
    expect(p.slurm.skipDirectives).toEqual(["mem"]);
  });
});

describe("the profile from the facts", () => {
  it("holds the schema for the variants: untyped GPUs as gpu, infinite limits, the default's DefaultTime", () => {
    const facts = { ...parseProbe(""), partitions: parseSinfo(fixture("detect-sinfo-variants.txt")), clusterName: "big" };
    const p = ProfileSchema.parse(profileFromFacts(facts, { name: "big", loginHost: "login.big.org" }));
    expect(p.slurm.partition).toBe("batch");
    expect(p.login.host).toBe("login.big.org");
    expect(p.container.runtime).toBe("none");
    expect(p.slurm.partitions.map((q) => [q.name, q.maxTime, q.gpus])).toEqual([
      ["batch", "UNLIMITED", []],
      ["gpu-a100", "3-00:00:00", [{ type: "a100", perNode: 8 }]],
      ["legacy", "UNLIMITED", [{ type: "gpu", perNode: 4 }]],
      [
        "mixed",
        "12:00:00",
        [
          { type: "tesla", perNode: 2 },
          { type: "a40", perNode: 2 },
        ],
      ],
    ]);
    expect(p.defaults).toMatchObject({ time: "01:00:00", cpusPerGpu: 4 });
    expect(p.jupyter).toEqual({ command: ["jupyter", "server"], time: "04:00:00" });
  });

  it("keeps Jupyter's and jobs' times within a short default partition", () => {
    const facts = parseProbe(fixture("detect-probe-login.txt"));
    const short = { ...facts, partitions: facts.partitions.map((q) => ({ ...q, isDefault: q.name === "short" })) };
    const p = ProfileSchema.parse(profileFromFacts(short, { name: "x" }));
    expect(p.slurm.partition).toBe("short");
    expect(p.jupyter.time).toBe("01:00:00");
    expect(p.defaults.time).toBe("01:00:00");
  });

  it("loads a runtime found only as a module, and asks for an account when sbatch refused every request for want of one", () => {
    const facts = parseProbe(
      `${fixture("detect-probe-ssh.txt").replace("/usr/bin/ch-run\n0.31\n\n@@hpcjob-detect-exit 0", "\n@@hpcjob-detect-exit 1")}\n@@hpcjob-detect modules\nApptainer/1.2.5(default)\n@@hpcjob-detect-exit 0\n`,
    );
    const refused = {
      accepted: false,
      said: "sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified",
    };
    const p = ProfileSchema.parse(profileFromFacts({ ...facts, gpuForms: { gres: refused }, mem: refused }, { name: "site" }));
    expect(p.container.runtime).toBe("apptainer");
    expect(p.environment.modules).toEqual(["Apptainer"]);
    expect(p.slurm.account.required).toBe(true);
    const plain = ProfileSchema.parse(profileFromFacts(parseProbe(fixture("detect-probe-login.txt")), { name: "x" }));
    expect(plain.environment.modules).toEqual([]);
    expect(plain.slurm.account.required).toBe(false);
  });
});
