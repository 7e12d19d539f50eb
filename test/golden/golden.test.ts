/**
 * Every built-in profile (each file in clusters/) and each runtime test
 * profile (test/fixtures/clusters/rt-*.yaml) x {jupyter, batch}, rendered
 * with fixed inputs and compared with the saved script. Each saved script
 * must pass `bash -n` and `shellcheck -S warning`. A profile without a saved
 * script fails: after adding a profile or deliberately changing a template,
 * write them with UPDATE_GOLDEN=1 npx vitest run test/golden and review the diff.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadProfile } from "../../src/profile/load.js";
import type { Profile } from "../../src/profile/schema.js";
import type { Payload, RequestFlags } from "../../src/request/build.js";
import { renderScript } from "../../src/render/render.js";
import { runtimeOf } from "../../src/runtime/index.js";
import { BUILTIN_CLUSTERS, RUNTIME_FIXTURES, requestFor, ROOT } from "../helpers.js";

const GOLDEN = join(ROOT, "test", "golden");
const FIXTURES = join(ROOT, "test", "fixtures", "clusters");
const ENV = { env: { HPCJOB_CLUSTERS: FIXTURES }, home: "/nonexistent-home" };
const PROFILES = [...BUILTIN_CLUSTERS, ...RUNTIME_FIXTURES];

/** Flags chosen by hand for some profiles: a GPU request in the site's own syntax, its account, an image path of its own. */
const CASES: Record<string, RequestFlags> = {
  vera: { gpus: "A40:1", account: "C3SE2024-1-2", image: "/cephyr/users/alice/Vera/pytorch.sif" },
  penn: { gpus: "1", account: "lab-account", image: "/vast/projects/lab/alice/pytorch.sqsh" },
  custom: { gpus: "A100:2", image: "/home/alice/images/pytorch.sif" },
  "rt-singularity": { gpus: "T4:1", image: "/images/torch.sif", env: ["WANDB_MODE=offline"], bind: ["/home/alice/data:/data:ro"] },
  "rt-enroot": { gpus: "A40:2", image: "/images/torch.sqsh", env: ["WANDB_MODE=offline"] },
  "rt-none": { sbatch: ["--constraint=haswell"] },
  // An image directory (ch-fromhost --nvidia writes into it) and a folder reached through the profile's bind /scratch:/mnt/0.
  "rt-charliecloud": { gpus: "A100:1", image: "/scratch/alice/torch", env: ["WANDB_MODE=offline"], workdir: "/scratch/alice/project" },
};

/** Flags for any other profile: one GPU of the default partition's first type, an account if one is needed, an image its runtime runs. */
function flagsFor(profile: Profile): RequestFlags {
  const partition = profile.slurm.partitions.find((p) => p.name === profile.slurm.partition);
  const gpu = partition?.gpus[0];
  const runtime = runtimeOf(profile.container.runtime);
  const image = runtime.name === "none" ? undefined : `/home/alice/images/pytorch${runtime.imageExt}`;
  const account = profile.slurm.account.required && profile.slurm.account.default === undefined ? "golden-account" : undefined;
  return { gpus: gpu ? `${gpu.type}:1` : undefined, account, image };
}

const PAYLOADS: Record<string, Payload> = {
  jupyter: { kind: "jupyter" },
  batch: { kind: "batch", argv: ["train.py", "--epochs", "3", "--note", "it's a $(test)"], explicit: false },
  // The same batch job as a 2x3 sweep, its tasks at most 2 at a time.
  sweep: { kind: "batch", argv: ["train.py", "--epochs", "3", "--note", "it's a $(test)"], explicit: false },
};

/** Flags each kind of script adds to the profile's. */
const KIND_FLAGS: Record<string, RequestFlags> = {
  jupyter: { name: "nb" },
  sweep: { sweep: ["lr=1e-3,1e-4", "seed=0..2"], maxParallel: "2" },
};

const cases = PROFILES.flatMap((cluster) => Object.keys(PAYLOADS).map((kind) => [cluster, kind] as const));

it("has hand-chosen flags only for profiles that exist", () => {
  expect(Object.keys(CASES).filter((name) => !PROFILES.includes(name))).toEqual([]);
});

// batch --requeue for every profile (its runtime's way to pass the signal on); one with its own --signal.
const REQUEUE: Record<string, RequestFlags> = { "rt-none": { signal: "USR2@300" } };
const requeueCases = PROFILES.map((cluster) => [cluster, "batch-requeue"] as const);

describe.each([...cases, ...requeueCases])("%s %s", (cluster, kind) => {
  const file = join(GOLDEN, `${cluster}.${kind}.sbatch`);

  it("renders the saved script", async () => {
    const loaded = await loadProfile(ENV, cluster);
    const flags = CASES[cluster] ?? flagsFor(loaded.profile);
    const requeue = kind === "batch-requeue" ? { requeue: true, ...REQUEUE[cluster] } : {};
    const payload = PAYLOADS[kind === "batch-requeue" ? "batch" : kind] as Payload;
    const req = requestFor(loaded, { ...flags, ...(KIND_FLAGS[kind] ?? {}), ...requeue }, payload);
    const script = renderScript(req, `/home/alice/.hpcjob/runs/20260101-120000-${req.name}`);
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(file, script);
    expect(existsSync(file), `${file} is missing: write it with UPDATE_GOLDEN=1 npx vitest run test/golden and review it`).toBe(true);
    expect(script).toBe(readFileSync(file, "utf8"));
  });

  it("passes bash -n and shellcheck -S warning", () => {
    const syntax = spawnSync("bash", ["-n", file], { encoding: "utf8" });
    expect(syntax.stderr).toBe("");
    expect(syntax.status).toBe(0);
    const lint = spawnSync("shellcheck", ["-S", "warning", "-s", "bash", file], { encoding: "utf8" });
    expect(lint.error, "shellcheck must be installed (apt-get install shellcheck)").toBeUndefined();
    expect(lint.stdout).toBe("");
    expect(lint.status).toBe(0);
  });
});
