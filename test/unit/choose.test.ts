import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { executorKind, hasLocalSlurm } from "../../src/exec/choose.js";
import { builtin, tempDir } from "../helpers.js";

/** A PATH with an executable `sbatch` in it. */
function pathWithSbatch(): string {
  const dir = tempDir();
  mkdirSync(join(dir, "bin"));
  writeFileSync(join(dir, "bin", "sbatch"), "#!/bin/sh\n");
  chmodSync(join(dir, "bin", "sbatch"), 0o755);
  return `/nonexistent:${join(dir, "bin")}`;
}

describe("choosing where Slurm runs", () => {
  it("is local on a machine with sbatch on PATH (the login node)", async () => {
    const env = { PATH: pathWithSbatch() };
    expect(hasLocalSlurm(env)).toBe(true);
    expect(executorKind({}, (await builtin("vera")).profile, env)).toEqual({ kind: "local" });
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
