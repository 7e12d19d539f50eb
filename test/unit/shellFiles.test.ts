/**
 * File operations over plain commands (for login nodes without SFTP), run
 * here the way sshd runs them there: each argv word quoted, the line given
 * to `bash -c`, data on stdin. The same scripts run on the test sshd without
 * sftp in test/e2e/ssh.e2e.test.ts.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ExecError } from "../../src/core/errors.js";
import { quote } from "../../src/core/quote.js";
import type { ChannelResult } from "../../src/exec/ssh/channel.js";
import type { Runner } from "../../src/exec/ssh/remoteFiles.js";
import { ShellFiles } from "../../src/exec/ssh/shellFiles.js";
import { tempDir } from "../helpers.js";

/**
 * A Runner like the SSH Executor's, on this machine: a login shell's `-c`
 * with the quoted words, in `cwd`; `banner` is printed first, as a chatty
 * ~/.bashrc would.
 */
function localRunner(cwd: string, log: string[] = [], banner = ""): Runner {
  return (argv, stdin) =>
    new Promise<ChannelResult>((resolve) => {
      const line = argv.map((a) => quote(a)).join(" ");
      log.push(line);
      const child = spawn("bash", ["-c", `printf %s ${quote(banner)}; ${line}`], { cwd, stdio: ["pipe", "pipe", "pipe"] });
      const out: Buffer[] = [];
      let err = "";
      child.stdout.on("data", (d: Buffer) => out.push(d));
      child.stderr.on("data", (d: Buffer) => {
        err += d;
      });
      child.on("close", (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: err }));
      child.stdin.end(stdin);
    });
}

// Bytes that are not UTF-8, a NUL and a lone newline at the end.
const BINARY = Buffer.concat([Buffer.from("#!/bin/sh\necho hi\n"), Buffer.from([0, 1, 2, 255, 254, 128, 10])]);

describe("files over plain commands", () => {
  const dir = tempDir("hpcjob-shellfiles-");
  const files = new ShellFiles(localRunner(dir));

  it("writes bytes unchanged with exactly the mode asked for, replacing a file, leaving no temporary file", async () => {
    const path = join(dir, "out.bin");
    await files.writeFile(path, BINARY, 0o755);
    expect(readFileSync(path)).toEqual(BINARY);
    expect(statSync(path).mode & 0o7777).toBe(0o755);
    await files.writeFile(path, "second\n", 0o600);
    expect(readFileSync(path, "utf8")).toBe("second\n");
    expect(statSync(path).mode & 0o7777).toBe(0o600);
    expect(readdirSync(dir).filter((n) => n.startsWith("out.bin"))).toEqual(["out.bin"]);
  });

  it("reads a file from an offset, and undefined for a missing one", async () => {
    const path = join(dir, "log.bin");
    writeFileSync(path, BINARY);
    expect(await files.readFrom(path, 0)).toEqual(BINARY);
    expect(await files.readFrom(path, 5)).toEqual(BINARY.subarray(5));
    expect(await files.readFrom(path, BINARY.length)).toEqual(Buffer.alloc(0));
    expect(await files.readFrom(join(dir, "nothing"), 0)).toBeUndefined();
  });

  it("stats what a path points to, and undefined for a missing one", async () => {
    const path = join(dir, "st");
    writeFileSync(path, "12345");
    chmodSync(path, 0o640);
    symlinkSync(path, join(dir, "st-link"));
    const s = await files.stat(join(dir, "st-link"));
    expect(s).toEqual({ mode: 0o640, size: 5, mtimeMs: Math.floor(statSync(path).mtimeMs / 1000) * 1000 });
    expect(await files.stat(join(dir, "nothing"))).toBeUndefined();
  });

  it("lists every name, also with blanks, quotes, newlines or a leading dash, and [] for a missing folder", async () => {
    const d = join(dir, "list");
    mkdirSync(d);
    const names = ["plain", "with space", "it's", "new\nline", "-dash", "$(id)"];
    for (const n of names) writeFileSync(join(d, n), "");
    expect((await files.list(d)).sort()).toEqual([...names].sort());
    expect(await files.list(join(dir, "nothing"))).toEqual([]);
  });

  it("creates one folder atomically with exactly its mode: true, then false once it exists", async () => {
    const d = join(dir, "run-1");
    expect(await files.createDir(d, 0o700)).toBe(true);
    expect(statSync(d).mode & 0o7777).toBe(0o700);
    expect(await files.createDir(d, 0o700)).toBe(false);
    await expect(files.createDir(join(dir, "no", "parent"), 0o700)).rejects.toThrow(ExecError);
    await expect(files.createDir(join(dir, "no", "parent"), 0o700)).rejects.toThrow(
      /could not create .*parent on the cluster: .*No such file/,
    );
  });

  it("mkdir makes the missing parents with the mode and leaves existing folders' modes alone", async () => {
    const base = join(dir, "tree");
    mkdirSync(base, { mode: 0o751 });
    chmodSync(base, 0o751);
    await files.mkdir(join(base, "a", "b"), 0o700);
    expect(statSync(base).mode & 0o777).toBe(0o751);
    expect(statSync(join(base, "a")).mode & 0o777).toBe(0o700);
    expect(statSync(join(base, "a", "b")).mode & 0o777).toBe(0o700);
    await files.mkdir(join(base, "a", "b"), 0o755);
    expect(statSync(join(base, "a", "b")).mode & 0o777).toBe(0o700);
  });

  it("finds the home as the folder a login starts in", async () => {
    expect(await files.home()).toBe(dir);
  });

  it("treats paths with quotes, blanks and $(...) as names, never as shell", async () => {
    const path = join(dir, "a 'b' $(touch pwned) `x`");
    await files.writeFile(path, "ok", 0o600);
    expect(await files.readFrom(path, 0)).toEqual(Buffer.from("ok"));
    expect(readdirSync(dir)).not.toContain("pwned");
  });

  it("fails with one line saying what and where when a write cannot happen, and leaves nothing behind", async () => {
    const missing = join(dir, "no-such-folder", "f");
    await expect(files.writeFile(missing, "x", 0o600)).rejects.toThrow(
      /^could not write .*no-such-folder\/f on the cluster: .*(No such file|nonexistent)/,
    );
    expect(readdirSync(dir).some((n) => n.includes("hpcjob-"))).toBe(false);
  });

  it("runs one command per operation, each word quoted", async () => {
    const log: string[] = [];
    const logged = new ShellFiles(localRunner(dir, log));
    await logged.stat(join(dir, "it's here"));
    expect(log).toHaveLength(1);
    expect(log[0]).toMatch(/^sh -c '.*' sh '.*it'\\''s here'$/);
  });

  it("reads exactly the file, the home and the names when the login shell prints a banner first", async () => {
    const noisy = new ShellFiles(localRunner(dir, [], "Welcome to the cluster!\nQuota: 80%\n"));
    const path = join(dir, "quiet.bin");
    writeFileSync(path, BINARY);
    expect(await noisy.readFrom(path, 0)).toEqual(BINARY);
    expect(await noisy.home()).toBe(dir);
    expect(await noisy.stat(path)).toMatchObject({ size: BINARY.length });
    expect(await noisy.list(join(dir, "list"))).toContain("plain");
  });
});
