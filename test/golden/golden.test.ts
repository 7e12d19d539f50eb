/**
 * Every built-in profile (and a test profile per other runtime) x {jupyter,
 * batch}, rendered with fixed inputs and compared with the saved script.
 * Each saved script must pass `bash -n` and `shellcheck -S warning`.
 * After a deliberate template change: UPDATE_GOLDEN=1 npx vitest run test/golden
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadProfile } from "../../src/profile/load.js";
import type { Payload, RequestFlags } from "../../src/request/build.js";
import { renderScript } from "../../src/render/render.js";
import { requestFor, ROOT } from "../helpers.js";

const GOLDEN = join(ROOT, "test", "golden");
const FIXTURES = join(ROOT, "test", "fixtures", "clusters");
const ENV = { env: { HPCJOB_CLUSTERS: FIXTURES }, home: "/nonexistent-home" };

/** The flags each cluster is rendered with: a GPU request in its own syntax, an account where needed. */
const CASES: Record<string, RequestFlags> = {
  vera: { gpus: "A40:1", account: "C3SE2024-1-2", image: "/cephyr/users/alice/Vera/pytorch.sif" },
  penn: { gpus: "1", account: "lab-account", image: "/vast/projects/lab/alice/pytorch.sqsh" },
  custom: { gpus: "A100:2", image: "/home/alice/images/pytorch.sif" },
  "rt-singularity": { gpus: "T4:1", image: "/images/torch.sif", env: ["WANDB_MODE=offline"], bind: ["/home/alice/data:/data:ro"] },
  "rt-enroot": { gpus: "A40:2", image: "/images/torch.sqsh", env: ["WANDB_MODE=offline"] },
  "rt-none": { sbatch: ["--constraint=haswell"] },
};

const PAYLOADS: Record<string, Payload> = {
  jupyter: { kind: "jupyter" },
  batch: { kind: "batch", argv: ["train.py", "--epochs", "3", "--note", "it's a $(test)"], explicit: false },
};

const cases = Object.entries(CASES).flatMap(([cluster, flags]) => Object.keys(PAYLOADS).map((kind) => [cluster, kind, flags] as const));

describe.each(cases)("%s %s", (cluster, kind, flags) => {
  const file = join(GOLDEN, `${cluster}.${kind}.sbatch`);

  it("renders the saved script", async () => {
    const loaded = await loadProfile(ENV, cluster);
    const req = requestFor(loaded, { ...flags, name: kind === "jupyter" ? "nb" : undefined }, PAYLOADS[kind] as Payload);
    const script = renderScript(req, `/home/alice/.hpcjob/runs/20260101-120000-${req.name}`);
    if (process.env.UPDATE_GOLDEN === "1" || !existsSync(file)) writeFileSync(file, script);
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
