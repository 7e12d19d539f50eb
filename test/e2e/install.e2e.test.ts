/**
 * `hpcjob remote install` from the laptop: it never changes the mode of a
 * folder it did not create (a 0700 home, a 0700 ~/.local/bin), makes an
 * identical but non-executable copy executable, and prints a PATH hint that
 * works as printed, even for a folder with a space in its name.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hpcjob, laptopEnv, requireCluster, STAGE, stage } from "./harness.js";

const HOME = "/home/alice";
const BINARY = `${STAGE}/fake-hpcjob`;
const INSTALL = ["remote", "install", "--cluster", "loopback", "--binary", BINARY, "--json"];

/** Run a shell script as alice. */
function asAlice(script: string): { status: number | null; stdout: string; stderr: string } {
  return spawnSync("runuser", ["-u", "alice", "--", "bash", "-c", script], { cwd: "/", encoding: "utf8" });
}

const mode = (path: string) => statSync(path).mode & 0o7777;
const homeMode = mode(HOME);

beforeAll(() => {
  requireCluster();
  stage();
  writeFileSync(BINARY, `#!/bin/sh\necho fake hpcjob ${Date.now()}\n`);
  chmodSync(BINARY, 0o644);
});
afterAll(() => {
  chmodSync(HOME, homeMode);
  asAlice("rm -rf ~/hpcjob ~/.local/bin/hpcjob ~/'my tools'");
});

describe("remote install", () => {
  it("installs into a 0700 home without changing its mode", () => {
    asAlice("rm -f ~/hpcjob");
    chmodSync(HOME, 0o700);
    const r = hpcjob("alice", [...INSTALL, "--path", "~/hpcjob"], { env: laptopEnv() });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ path: `${HOME}/hpcjob`, installed: true });
    expect(mode(HOME)).toBe(0o700);
    expect(mode(`${HOME}/hpcjob`)).toBe(0o755);
    expect(readFileSync(`${HOME}/hpcjob`)).toEqual(readFileSync(BINARY));
  });

  it("installs into a 0700 ~/.local/bin without changing its mode, and creates what is missing as 0755", () => {
    chmodSync(HOME, homeMode);
    asAlice("rm -rf ~/.local/bin && mkdir -p ~/.local && mkdir -m 0700 ~/.local/bin");
    const r = hpcjob("alice", INSTALL, { env: laptopEnv() });
    expect(r.status, r.stderr).toBe(0);
    expect(mode(`${HOME}/.local/bin`)).toBe(0o700);
    expect(mode(`${HOME}/.local/bin/hpcjob`)).toBe(0o755);

    asAlice("rm -rf ~/'my tools'");
    const fresh = hpcjob("alice", [...INSTALL, "--path", "~/my tools/bin/hpcjob"], { env: laptopEnv() });
    expect(fresh.status, fresh.stderr).toBe(0);
    expect(mode(`${HOME}/my tools`)).toBe(0o755);
    expect(mode(`${HOME}/my tools/bin`)).toBe(0o755);
  });

  it("makes an identical copy that is not executable executable, copying nothing", () => {
    asAlice("chmod 0644 ~/.local/bin/hpcjob");
    const before = statSync(`${HOME}/.local/bin/hpcjob`).mtimeMs;
    const r = hpcjob("alice", INSTALL, { env: laptopEnv() });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ installed: false, modeFixed: true });
    expect(mode(`${HOME}/.local/bin/hpcjob`)).toBe(0o755);
    expect(statSync(`${HOME}/.local/bin/hpcjob`).mtimeMs).toBe(before);
    const again = hpcjob(
      "alice",
      INSTALL.filter((a) => a !== "--json"),
      { env: laptopEnv() },
    );
    expect(again.stdout).toMatch(/is already this hpcjob \(sha256 [0-9a-f]{16}…\); nothing copied/);
    expect(
      createHash("sha256")
        .update(readFileSync(`${HOME}/.local/bin/hpcjob`))
        .digest("hex"),
    ).toBe(createHash("sha256").update(readFileSync(BINARY)).digest("hex"));
  });

  it("prints a PATH hint that works as printed, for a folder with a space in its name", () => {
    asAlice("rm -rf ~/'my tools'");
    const r = hpcjob("alice", INSTALL.filter((a) => a !== "--json").concat("--path", "~/my tools/bin/hpcjob"), { env: laptopEnv() });
    expect(r.status, r.stderr).toBe(0);
    const hint = /add it: (.*)$/m.exec(r.stdout)?.[1];
    expect(hint).toBe(`echo 'export PATH='\\''${HOME}/my tools/bin'\\'':"$PATH"' >> ~/.bashrc`);
    // Run the hint in a scratch home, then a shell that reads that .bashrc finds the installed program.
    const scratch = `${HOME}/hint-home`;
    const check = asAlice(
      `rm -rf ${scratch} && mkdir ${scratch} && HOME=${scratch} && ${hint} && source ${scratch}/.bashrc && command -v hpcjob; rm -rf ${scratch}`,
    );
    expect(check.stdout.trim()).toBe(`${HOME}/my tools/bin/hpcjob`);
  });
});
