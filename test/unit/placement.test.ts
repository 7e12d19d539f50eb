import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hasLocalSlurm, needsLocalClusterName, place } from "../../src/exec/placement.js";
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
  it("over SSH carries the user and port to fall back on; here, how the user's computer reaches this login node", async () => {
    const vera = (await builtin("vera")).profile;
    expect(place({ acceptNewHost: true }, vera, { env: { PATH: tempDir() }, user: "cid" })).toEqual({
      where: "ssh",
      destination: "vera2.c3se.chalmers.se",
      defaultUser: "cid",
      defaultPort: 22,
      acceptNewHost: true,
    });
    expect(place({ local: true }, vera, { env: {} })).toEqual({ where: "here", loginHost: "vera2.c3se.chalmers.se", loginPort: 22 });
  });

  it("is local on a machine with sbatch on PATH (the login node) when the profile names no Slurm cluster", async () => {
    const env = { PATH: pathWithSbatch() };
    expect(hasLocalSlurm(env)).toBe(true);
    expect(place({}, (await builtin("custom")).profile, { env: env })).toMatchObject({ where: "here" });
  });

  it("is SSH to the profile's login host elsewhere (a laptop)", async () => {
    const env = { PATH: tempDir() };
    expect(hasLocalSlurm(env)).toBe(false);
    expect(place({}, (await builtin("vera")).profile, { env: env })).toMatchObject({ where: "ssh", destination: "vera2.c3se.chalmers.se" });
  });

  it("--local and --remote force either", async () => {
    const vera = (await builtin("vera")).profile;
    expect(place({ local: true }, vera, { env: { PATH: "" } })).toMatchObject({ where: "here" });
    expect(place({ remote: "cid@vera1.c3se.chalmers.se" }, vera, { env: { PATH: pathWithSbatch() } })).toMatchObject({
      where: "ssh",
      destination: "cid@vera1.c3se.chalmers.se",
    });
    expect(() => place({ local: true, remote: "x" }, vera, { env: {} })).toThrow(/contradict/);
  });

  it("says what to do when neither works", async () => {
    const vera = (await builtin("vera")).profile;
    const noLogin = { ...vera, login: { port: 22 } };
    expect(() => place({}, noLogin, { env: { PATH: "" } })).toThrow(
      /not on this computer and cluster vera has no login.host; pass --remote USER@LOGIN-HOST/,
    );
    expect(() => place({}, undefined, { env: { PATH: "" } })).toThrow(/no cluster was chosen/);
  });
});

describe("the right Slurm: a profile that names its cluster", () => {
  const vera = async () => (await builtin("vera")).profile;

  it("is local only when this machine's Slurm is that cluster", async () => {
    const env = { PATH: pathWithSbatch() };
    expect(needsLocalClusterName({}, await vera(), env)).toBe(true);
    expect(place({}, await vera(), { env: env, localCluster: "vera" })).toMatchObject({ where: "here" });
  });

  it("goes over SSH to the login host from another cluster's login node", async () => {
    const env = { PATH: pathWithSbatch() };
    expect(place({}, await vera(), { env: env, localCluster: "alvis" })).toMatchObject({
      where: "ssh",
      destination: "vera2.c3se.chalmers.se",
    });
  });

  it("says what to do on another cluster's login node when the profile has no login host", async () => {
    const noLogin = { ...(await vera()), login: { port: 22 } };
    expect(() => place({}, noLogin, { env: { PATH: pathWithSbatch() }, localCluster: "alvis" })).toThrow(
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
