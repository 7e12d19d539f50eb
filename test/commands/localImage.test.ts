/**
 * Sending an image from this computer to the cluster (stageImage): the
 * archive's bytes go to a new file in the scratch folder through one
 * command's stdin, with progress in bytes, and that file is removed when
 * sending fails; on the login node an archive is used where it is. And the
 * local executor's runWithInput, which the login-node case streams through.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import type { Context } from "../../src/commands/context.js";
import { type LocalImage, stageImage } from "../../src/commands/localImage.js";
import type { WaitEvent } from "../../src/core/events.js";
import { LocalExecutor } from "../../src/exec/local.js";
import { FakeClock, FakeExecutor, fail, ok } from "../fakes.js";
import { tempDir } from "../helpers.js";

/** A FakeExecutor on another machine (over SSH). */
class RemoteFake extends FakeExecutor {
  override readonly remote: boolean = true;
}

const TMP = "/tmp/hpcjob-image.Ab12Cd34";
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function setup(remote: boolean, shCode = 0) {
  const dir = tempDir("hpcjob-stage-");
  dirs.push(dir);
  const path = join(dir, "app.tar");
  const bytes = Buffer.alloc(3 * 1024 * 1024 + 5, 7);
  writeFileSync(path, bytes);
  const events: WaitEvent[] = [];
  const ctx = { env: process.env, home: dir, cwd: dir, report: (e: WaitEvent) => events.push(e) } as unknown as Context;
  const handlers = {
    mktemp: () => ok(`${TMP}\n`),
    sh: (argv: readonly string[]) =>
      String(argv[2]).includes("TMPDIR") ? ok("/tmp") : shCode === 0 ? ok() : fail("cat: write error: No space left on device", shCode),
    rm: () => ok(),
  };
  const exec = remote ? new RemoteFake(new FakeClock(), handlers) : new FakeExecutor(new FakeClock(), handlers);
  const image: LocalImage = { digest: `sha256:${"a".repeat(64)}`, platform: "linux/amd64", size: bytes.length, path };
  return { exec, ctx, events, image, path, bytes };
}

describe("stageImage", () => {
  it("streams an archive into a new file in $TMPDIR there through one command's stdin, and names it as the converter reads it", async () => {
    const { exec, ctx, events, image, path, bytes } = setup(true);
    const staged = await stageImage(
      exec,
      { kind: "docker-archive", path },
      image,
      { runDir: "/home/alice/.hpcjob/runs/r", job: false },
      ctx,
    );
    expect(staged.source).toBe(`docker-archive:${TMP}`);
    expect(staged.file).toBe(TMP);
    expect(exec.lastInput?.equals(bytes)).toBe(true);
    expect(exec.callsOf("mktemp")[0]?.argv).toEqual(["mktemp", "-p", "/tmp", "hpcjob-image.XXXXXXXX"]);
    expect(exec.callsOf("sh").at(-1)?.argv).toEqual(["sh", "-c", 'cat >"$1"', "sh", TMP]);
    expect(events.filter((e) => e.kind === "progress").at(-1)).toEqual({ kind: "progress", text: `sent 0 MiB of docker-archive:${path}` });
    expect(exec.callsOf("rm")).toEqual([]);
    await staged.remove();
    expect(exec.callsOf("rm")[0]?.argv).toEqual(["rm", "-f", "--", TMP]);
  });

  it("puts it in the profile's tmpDir, else (a conversion job) in the run directory, and keeps an archive's image name", async () => {
    const { exec, ctx, image, path } = setup(true);
    const a = await stageImage(
      exec,
      { kind: "oci-archive", path, ref: "app" },
      image,
      { tmpDir: "/scratch/me", runDir: "/r", job: true },
      ctx,
    );
    expect(a.source).toBe(`oci-archive:${TMP}:app`);
    expect(exec.callsOf("mktemp")[0]?.argv.slice(0, 3)).toEqual(["mktemp", "-p", "/scratch/me"]);
    await stageImage(exec, { kind: "docker-archive", path }, image, { runDir: "/r", job: true }, ctx);
    expect(exec.callsOf("mktemp")[1]?.argv.slice(0, 3)).toEqual(["mktemp", "-p", "/r"]);
  });

  it("removes the file when sending fails, and says why", async () => {
    const { exec, ctx, image, path } = setup(true, 1);
    await expect(stageImage(exec, { kind: "docker-archive", path }, image, { runDir: "/r", job: false }, ctx)).rejects.toThrow(
      `could not write ${TMP} on the cluster (exit 1)`,
    );
    expect(exec.callsOf("rm")[0]?.argv).toEqual(["rm", "-f", "--", TMP]);
  });

  it("on the login node uses an archive where it is: nothing sent, nothing to remove", async () => {
    const { exec, ctx, image, path } = setup(false);
    const staged = await stageImage(exec, { kind: "docker-archive", path }, image, { runDir: "/r", job: false }, ctx);
    expect(staged.source).toBe(`docker-archive:${path}`);
    expect(staged.file).toBeUndefined();
    expect(exec.calls).toEqual([]);
  });
});

describe("LocalExecutor.runWithInput", () => {
  it("pipes the stream to the program's stdin", async () => {
    const local = new LocalExecutor({ env: process.env });
    const r = await local.runWithInput(["sh", "-c", "wc -c"], Readable.from([Buffer.alloc(3_000_000, 1), Buffer.alloc(5, 2)]));
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("3000005");
  });

  it("a stream that fails ends the program's stdin and says so", async () => {
    const local = new LocalExecutor({ env: process.env });
    const failing = new Readable({
      read() {
        this.destroy(new Error("docker save died"));
      },
    });
    const r = await local.runWithInput(["sh", "-c", "cat >/dev/null; echo done"], failing);
    expect(r.stderr).toContain("hpcjob: the input stream failed: docker save died");
  });
});
