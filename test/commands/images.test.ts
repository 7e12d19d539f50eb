/**
 * `image ls` and `image rm` in process: against the fake cluster, the
 * commands they run there (one find to list with the records, one
 * flock-guarded rm) and what they make of the answers; against a real
 * folder through the local executor (real find, flock and rm), the images
 * listed and removed with their records and locks, and an image whose lock
 * a conversion holds left alone.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { imageLs, imageRm } from "../../src/commands/images.js";
import { isHpcjobError } from "../../src/core/errors.js";
import { LocalExecutor } from "../../src/exec/local.js";
import { listArgv } from "../../src/image/folder.js";
import { fail, ok } from "../fakes.js";
import { tempDir } from "../helpers.js";
import { FakeCluster, fakeContext } from "./fakeCluster.js";

const DIR = "/home/alice/.hpcjob/images";
const NAME = "127.0.0.1_5443+lab+jupyter+1+dc61e143adef.sqfs";
const DIGEST = `sha256:dc61e143adef${"0".repeat(52)}`;
const REF = "docker://127.0.0.1:5443/lab/jupyter:1";
const RECORD = `{\n  "ref": "${REF}",\n  "digest": "${DIGEST}",\n  "platform": "linux/amd64",\n  "converter": "ch-image 0.31",\n  "date": "2026-11-23T14:06:30Z",\n  "size": 73965568\n}\n`;

/** What listArgv's find prints for the one converted image, its record and lock. */
const LISTING = [
  `hpcjob-entry\tf\t73965568\t${NAME}\0\0`,
  `hpcjob-entry\tf\t${RECORD.length}\t${NAME}.json\0${RECORD}\0`,
  `hpcjob-entry\tf\t0\t${NAME}.lock\0\0`,
].join("");

/** The error a promise rejects with, as hpcjob shows it. */
async function failure(p: Promise<unknown>): Promise<{ exitCode: number; message: string }> {
  try {
    await p;
  } catch (e) {
    if (!isHpcjobError(e)) throw e;
    return { exitCode: e.exitCode, message: e.message };
  }
  throw new Error("expected an error");
}

describe("image ls and rm against the fake cluster", () => {
  it("ls reads the folder and every record with one command, nothing read file by file", async () => {
    const cluster = new FakeCluster();
    cluster.handlers.find = () => ok(LISTING);
    const ctx = fakeContext(cluster);
    const done = await imageLs({ cluster: "loopback" }, ctx);
    expect(done.data).toEqual({
      cluster: "loopback",
      dir: DIR,
      images: [
        {
          name: NAME,
          path: `${DIR}/${NAME}`,
          size: 73965568,
          ref: REF,
          digest: DIGEST,
          platform: "linux/amd64",
          converter: "ch-image 0.31",
          date: "2026-11-23T14:06:30Z",
        },
      ],
    });
    expect(cluster.calls.map((c) => c.argv)).toEqual([listArgv(DIR)]);
    expect(ctx.placements).toEqual([{ where: "ssh", destination: "127.0.0.1", defaultPort: 2222, acceptNewHost: false }]);
  });

  it("ls of a folder that does not exist: no images, exit 0", async () => {
    const cluster = new FakeCluster();
    cluster.handlers.find = () => fail(`find: '${DIR}': No such file or directory`);
    expect((await imageLs({ cluster: "loopback" }, fakeContext(cluster))).data.images).toEqual([]);
  });

  it("ls of a folder find cannot read: exit 1 with find's words", async () => {
    const cluster = new FakeCluster();
    cluster.files.set(`${DIR}/`, "");
    cluster.handlers.find = () => fail(`find: '${DIR}': Permission denied`);
    expect(await failure(imageLs({ cluster: "loopback" }, fakeContext(cluster)))).toEqual({
      exitCode: 1,
      message: `could not list the image folder ${DIR} (find exit 1); check that you may read it`,
    });
  });

  it("rm by digest prefix takes the locks without waiting and removes the image, its record and lock", async () => {
    const cluster = new FakeCluster();
    cluster.handlers.find = () => ok(LISTING);
    cluster.handlers.flock = () => ok();
    const done = await imageRm("dc61e143adef", { cluster: "loopback" }, fakeContext(cluster));
    expect(done.data.what).toBe("sha256:dc61e143adef");
    expect(done.data.removed.map((i) => i.name)).toEqual([NAME]);
    const file = `${DIR}/${NAME}`;
    expect(cluster.callsOf("flock").map((c) => c.argv)).toEqual([
      ["flock", "-n", "--", `${file}.lock`, "rm", "-f", "--", file, `${file}.json`, `${file}.lock`],
    ]);
    expect(cluster.calls.length).toBe(2);
  });

  it("rm of an image whose conversion holds the lock: exit 1, and says so", async () => {
    const cluster = new FakeCluster();
    cluster.handlers.find = () => ok(LISTING);
    cluster.handlers.flock = () => fail("");
    expect(await failure(imageRm(REF, { cluster: "loopback" }, fakeContext(cluster)))).toEqual({
      exitCode: 1,
      message: `${NAME} is being converted right now (its lock is held); nothing was removed: run hpcjob image rm again once the conversion is done`,
    });
  });

  it("rm that rm itself fails: exit 1 with rm's words", async () => {
    const cluster = new FakeCluster();
    cluster.handlers.find = () => ok(LISTING);
    cluster.handlers.flock = () => fail(`rm: cannot remove '${DIR}/${NAME}': Permission denied\n`);
    const f = await failure(imageRm(NAME, { cluster: "loopback" }, fakeContext(cluster)));
    expect(f.exitCode).toBe(1);
    expect(f.message).toMatch(/^could not remove \/home\/alice\/\.hpcjob\/images\/127\S+\.sqfs \(exit 1\)$/);
  });

  it("rm of what matches nothing: exit 2 and how to see what is there; nothing removed", async () => {
    const cluster = new FakeCluster();
    cluster.handlers.find = () => ok(LISTING);
    expect(await failure(imageRm("docker://127.0.0.1:5443/lab/jupyter:2", { cluster: "loopback" }, fakeContext(cluster)))).toEqual({
      exitCode: 2,
      message: `there is no image converted from docker://127.0.0.1:5443/lab/jupyter:2 in ${DIR}; see what is there with: hpcjob image ls --cluster loopback`,
    });
    expect(cluster.callsOf("flock")).toEqual([]);
  });

  it("rm of a path outside the image folder is refused before connecting when it can be", async () => {
    const ctx = fakeContext(new FakeCluster());
    expect(await failure(imageRm("~/elsewhere/x.sif", { cluster: "loopback" }, ctx))).toEqual({
      exitCode: 2,
      message:
        "~/elsewhere/x.sif is not in the image folder ~/.hpcjob/images; hpcjob image rm removes only the images there (see: hpcjob image ls)",
    });
    expect(ctx.placements).toEqual([]);
  });
});

describe("image ls and rm on a real folder (the local executor: find, flock and rm)", () => {
  let holder: ChildProcess | undefined;
  afterEach(() => {
    holder?.kill();
    holder = undefined;
  });

  /** A home with an image folder: a converted image (record, lock), a partial file, a file copied in by hand. */
  function home(): { ctx: ReturnType<typeof fakeContext>; dir: string } {
    const h = tempDir("hpcjob-images-");
    const dir = join(h, ".hpcjob", "images");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, NAME), Buffer.alloc(2048));
    writeFileSync(join(dir, `${NAME}.json`), RECORD);
    writeFileSync(join(dir, `${NAME}.lock`), "");
    writeFileSync(join(dir, ".127.0.0.1_5443+lab+new+1+aaaaaaaaaaaa.part-99.sqfs"), "partial");
    writeFileSync(join(dir, "hand copied.sif"), "SIF");
    return { ctx: fakeContext(new LocalExecutor({ env: process.env, home: h }), { home: h }), dir };
  }

  it("lists the converted image with its record, then the file copied in by hand", async () => {
    const { ctx, dir } = home();
    const { images } = (await imageLs({ cluster: "loopback" }, ctx)).data;
    expect(images).toEqual([
      expect.objectContaining({ name: NAME, path: join(dir, NAME), size: 2048, digest: DIGEST, ref: REF }),
      { name: "hand copied.sif", path: join(dir, "hand copied.sif"), size: 3 },
    ]);
  });

  it("removes by reference the image, its record and lock, and leaves the rest", async () => {
    const { ctx, dir } = home();
    const done = await imageRm("docker://127.0.0.1:5443/lab/jupyter:1", { cluster: "loopback" }, ctx);
    expect(done.data.removed.map((i) => i.name)).toEqual([NAME]);
    expect(readdirSync(dir).sort()).toEqual([".127.0.0.1_5443+lab+new+1+aaaaaaaaaaaa.part-99.sqfs", "hand copied.sif"]);
    await imageRm(join(dir, "hand copied.sif"), { cluster: "loopback" }, ctx);
    expect(existsSync(join(dir, "hand copied.sif"))).toBe(false);
    expect(existsSync(join(dir, "hand copied.sif.lock"))).toBe(false);
  });

  it("leaves an image alone while a conversion holds its lock (exit 1), and removes it once the lock is free", async () => {
    const { ctx, dir } = home();
    const lock = join(dir, `${NAME}.lock`);
    // The stand-in conversion: sleep holding the lock (-F: no child of flock's keeps it once sleep is killed).
    holder = spawn("flock", ["-F", lock, "sleep", "60"], { stdio: "ignore" });
    // It has the lock once a non-blocking try fails.
    const probe = new LocalExecutor({ env: process.env });
    for (let i = 0; i < 100 && (await probe.run(["flock", "-n", lock, "true"])).code === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const f = await failure(imageRm(DIGEST, { cluster: "loopback" }, ctx));
    expect(f).toEqual({
      exitCode: 1,
      message: `${NAME} is being converted right now (its lock is held); nothing was removed: run hpcjob image rm again once the conversion is done`,
    });
    expect(readdirSync(dir)).toContain(NAME);
    expect(readdirSync(dir)).toContain(`${NAME}.json`);
    holder.kill();
    await new Promise((r) => holder?.once("exit", r));
    holder = undefined;
    expect((await imageRm(DIGEST, { cluster: "loopback" }, ctx)).data.removed.length).toBe(1);
    expect(readdirSync(dir).filter((n) => n.startsWith(NAME))).toEqual([]);
  });
});
