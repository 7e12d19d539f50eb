import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { executorKind, hasLocalSlurm, needsLocalClusterName } from "../../src/exec/choose.js";
import { parseShowConfig } from "../../src/slurm/index.js";
import { builtin, ROOT, tempDir } from "../helpers.js";

/** A PATH with an executable `sbatch` in it. */
function pathWithSbatch(): string {
  const dir = tempDir();
  mkdirSync(join(dir, "bin"));
  writeFileSync(join(dir, "bin", "sbatch"), "#!/bin/sh\n");
  chmodSync(join(dir, "bin", "sbatch"), 0o755);
  return `/nonexistent:${join(dir, "bin")}`;
}

describe("choosing where Slurm runs", () => {
  it("is local on a machine with sbatch on PATH (the login node) when the profile names no Slurm cluster", async () => {
    const env = { PATH: pathWithSbatch() };
    expect(hasLocalSlurm(env)).toBe(true);
    expect(executorKind({}, (await builtin("custom")).profile, env)).toEqual({ kind: "local" });
  });

  it("is SSH to the profile's login host elsewhere (a laptop)", async () => {
    const env = { PATH: tempDir() };
    expect(hasLocalSlurm(env)).toBe(false);
    expect(executorKind({}, (await builtin("vera")).profile, env)).toEqual({ kind: "ssh", destination: "vera2.c3se.chalmers.se" });
  });

  it("--local and --remote force either", async () => {
    const vera = (await builtin("vera")).profile;
    expect(executorKind({ local: true }, vera, { PATH: "" })).toEqual({ kind: "local" });
    expect(executorKind({ remote: "cid@vera1.c3se.chalmers.se" }, vera, { PATH: pathWithSbatch() })).toEqual({
      kind: "ssh",
      destination: "cid@vera1.c3se.chalmers.se",
    });
    expect(() => executorKind({ local: true, remote: "x" }, vera, {})).toThrow(/contradict/);
  });

  it("says what to do when neither works", async () => {
    const vera = (await builtin("vera")).profile;
    const noLogin = { ...vera, login: { port: 22 } };
    expect(() => executorKind({}, noLogin, { PATH: "" })).toThrow(
      /not on this computer and cluster vera has no login.host; pass --remote USER@LOGIN-HOST/,
    );
    expect(() => executorKind({}, undefined, { PATH: "" })).toThrow(/no cluster was chosen/);
  });
});

describe("the right Slurm: a profile that names its cluster", () => {
  const vera = async () => (await builtin("vera")).profile;

  it("is local only when this machine's Slurm is that cluster", async () => {
    const env = { PATH: pathWithSbatch() };
    expect(needsLocalClusterName({}, await vera(), env)).toBe(true);
    expect(executorKind({}, await vera(), env, "vera")).toEqual({ kind: "local" });
  });

  it("goes over SSH to the login host from another cluster's login node", async () => {
    const env = { PATH: pathWithSbatch() };
    expect(executorKind({}, await vera(), env, "alvis")).toEqual({ kind: "ssh", destination: "vera2.c3se.chalmers.se" });
  });

  it("says what to do on another cluster's login node when the profile has no login host", async () => {
    const noLogin = { ...(await vera()), login: { port: 22 } };
    expect(() => executorKind({}, noLogin, { PATH: pathWithSbatch() }, "alvis")).toThrow(
      /this computer's Slurm is cluster alvis, not vera .*pass --remote USER@LOGIN-HOST, or --local/,
    );
  });

  it("asks nothing when --local or --remote decide, or the profile names no cluster", async () => {
    const env = { PATH: pathWithSbatch() };
    expect(needsLocalClusterName({ local: true }, await vera(), env)).toBe(false);
    expect(needsLocalClusterName({ remote: "x" }, await vera(), env)).toBe(false);
    expect(needsLocalClusterName({}, { ...(await vera()), slurm: { ...(await vera()).slurm, clusterName: undefined } }, env)).toBe(false);
    expect(needsLocalClusterName({}, await vera(), { PATH: tempDir() })).toBe(false);
  });

  it("reads ClusterName from scontrol show config as recorded on the test cluster", () => {
    const config = parseShowConfig(readFileSync(join(ROOT, "test/fixtures/slurm/scontrol-show-config.txt"), "utf8"));
    expect(config.get("ClusterName")).toBe("hpcjob-test");
    expect(config.get("MaxArraySize")).toBe("1001");
    expect(config.get("SchedulerParameters")).toBe("sched_interval=2,bf_interval=2,bf_resolution=60");
    expect(config.has("AuthAltTypes")).toBe(false); // (null)
  });
});
