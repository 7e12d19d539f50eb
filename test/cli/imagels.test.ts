/**
 * `hpcjob image ls` and `image rm` as a user runs them (the built CLI), on
 * this machine (--local) with a fresh home whose image folder the test
 * fills: the table and --json, the line for an empty folder, what rm says,
 * and bad input refused with one line and exit 2. On the loopback cluster
 * after a real conversion: test/e2e/imagels.e2e.test.ts.
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, runCli, tempDir } from "../helpers.js";

const ENV = { HPCJOB_CLUSTERS: join(ROOT, "test", "fixtures", "clusters") };
const NAME = "127.0.0.1_5443+lab+jupyter+1+dc61e143adef.sqfs";
const DIGEST = `sha256:dc61e143adef${"0".repeat(52)}`;
const REF = "docker://127.0.0.1:5443/lab/jupyter:1";

/** A home whose image folder has a converted image (record, lock) and a file copied in by hand. */
function home(): { home: string; dir: string } {
  const h = tempDir("hpcjob-home-");
  const dir = join(h, ".hpcjob", "images");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, NAME), Buffer.alloc(3 * 1024 * 1024));
  writeFileSync(
    join(dir, `${NAME}.json`),
    `{\n  "ref": "${REF}",\n  "digest": "${DIGEST}",\n  "platform": "linux/amd64",\n  "converter": "ch-image 0.31",\n  "date": "2026-11-23T14:06:30Z",\n  "size": 3145728\n}\n`,
  );
  writeFileSync(join(dir, `${NAME}.lock`), "");
  writeFileSync(join(dir, "mine.sif"), "SIF");
  return { home: h, dir };
}

/** hpcjob image ... on this machine with `h` as home. */
function image(h: string, args: string[]) {
  return runCli(["image", ...args, "--cluster", "loopback", "--local"], { env: ENV, home: h });
}

describe("image ls", () => {
  it("prints a table, newest first, the file copied in by hand last with '-'", () => {
    const { home: h, dir } = home();
    const r = image(h, ["ls"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^NAME +SIZE +CONVERTED +DIGEST +IMAGE$/);
    expect(lines[1]).toMatch(
      /^127\.0\.0\.1_5443\+lab\+jupyter\+1\+dc61e143adef\.sqfs +3\.0 MiB +2026-11-23T14:06:30Z +dc61e143adef +docker:\/\/127\.0\.0\.1:5443\/lab\/jupyter:1$/,
    );
    expect(lines[2]).toMatch(/^mine\.sif +3 B +- +- +-$/);
    expect(lines[3]).toBe(`2 images, 3.0 MiB in ${dir}; run one with --image ${dir}/NAME`);
  });

  it("--json: sizes in bytes and full digests", () => {
    const { home: h, dir } = home();
    const r = image(h, ["ls", "--json"]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      cluster: "loopback",
      dir,
      images: [
        {
          name: NAME,
          path: join(dir, NAME),
          size: 3145728,
          ref: REF,
          digest: DIGEST,
          platform: "linux/amd64",
          converter: "ch-image 0.31",
          date: "2026-11-23T14:06:30Z",
        },
        { name: "mine.sif", path: join(dir, "mine.sif"), size: 3 },
      ],
    });
  });

  it("a folder that is not there yet: one friendly line, exit 0", () => {
    const h = tempDir("hpcjob-home-");
    const r = image(h, ["ls"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      `no images in ${h}/.hpcjob/images; convert one with: hpcjob image convert docker://IMAGE:TAG --cluster loopback\n`,
    );
    expect(JSON.parse(image(h, ["ls", "--json"]).stdout)).toEqual({ cluster: "loopback", dir: `${h}/.hpcjob/images`, images: [] });
  });
});

describe("image rm", () => {
  it("removes by digest prefix the image, its record and lock, and says what it removed", () => {
    const { home: h, dir } = home();
    const r = image(h, ["rm", "dc61e143adef"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`removed ${dir}/${NAME} (3.0 MiB, ${REF}, digest dc61e143adef) with its record and lock\n`);
    expect(r.status).toBe(0);
    expect(readdirSync(dir)).toEqual(["mine.sif"]);
  });

  it.each([
    [[""], "hpcjob: image rm needs the image: a file name, a docker:// reference or a digest (see: hpcjob image ls)"],
    [
      ["sha256:dc61e1"],
      'hpcjob: image rm "sha256:dc61e1" is not a digest hpcjob takes: give sha256: and 12 to 64 lowercase hex digits, as hpcjob image ls shows them',
    ],
    [
      ["../mine.sif"],
      'hpcjob: image rm "../mine.sif" is not a file in the image folder; give its name as hpcjob image ls shows it, or its absolute path',
    ],
    [
      ["docker://Lab/jupyter:1"],
      'hpcjob: image rm "docker://Lab/jupyter:1" has capital letters; repository names are lowercase: write docker://lab/jupyter:1',
    ],
    [
      ["/etc/passwd"],
      "hpcjob: /etc/passwd is not in the image folder HOME/.hpcjob/images; hpcjob image rm removes only the images there (see: hpcjob image ls)",
    ],
    [
      ["docker://127.0.0.1:5443/lab/jupyter:2"],
      "hpcjob: there is no image converted from docker://127.0.0.1:5443/lab/jupyter:2 in HOME/.hpcjob/images; see what is there with: hpcjob image ls --cluster loopback",
    ],
    [
      ["0123456789abcdef"],
      "hpcjob: there is no image of digest sha256:0123456789abcdef in HOME/.hpcjob/images; see what is there with: hpcjob image ls --cluster loopback",
    ],
  ])("%j: one line, exit 2, nothing removed", (args, line) => {
    const { home: h, dir } = home();
    const r = image(h, ["rm", ...args]);
    expect(r.stderr).toBe(`${line.replace("HOME", h)}\n`);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(readdirSync(dir).length).toBe(4);
  });

  it("without the image: commander's one line, exit 2", () => {
    const r = runCli(["image", "rm", "--cluster", "loopback", "--local"], { env: ENV });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("hpcjob: missing required argument 'image'; see hpcjob --help\n");
  });
});
