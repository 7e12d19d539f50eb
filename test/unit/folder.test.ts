/**
 * The image folder as `image ls` and `image rm` read it, without I/O: the
 * one find's output parsed into images with their records (records, locks
 * and partial files are not images), sorted newest first; what `image rm`
 * takes (a name, a path in the folder, a reference, a digest) and refuses;
 * the flock-guarded rm it runs; sizes as people read them.
 */
import { describe, expect, it } from "vitest";
import { bytesText, imageListText, imagesRemovedText } from "../../src/cli/views.js";
import { isHpcjobError } from "../../src/core/errors.js";
import { type ImageFile, listArgv, matchImages, nameInFolder, parseListing, parseRmTarget, removeArgv } from "../../src/image/folder.js";

const DIR = "/home/alice/.hpcjob/images";
const HOME_DIR = { under: "home", path: ".hpcjob/images" } as const;
const D1 = `sha256:dc61e143adef${"1".repeat(52)}`;
const D2 = `sha256:dc61e143adef${"2".repeat(52)}`;
const D3 = `sha256:0123456789ab${"3".repeat(52)}`;

/** One entry as listArgv's find prints it. */
function entry(type: string, size: number, name: string, payload = ""): string {
  return `hpcjob-entry\t${type}\t${size}\t${name}\0${payload}\0`;
}

/** A record as the conversion script writes it. */
function record(ref: string, digest: string, date: string): string {
  return `{\n  "ref": "${ref}",\n  "digest": "${digest}",\n  "platform": "linux/amd64",\n  "converter": "ch-image 0.31",\n  "date": "${date}",\n  "size": 1\n}\n`;
}

/** The message of a UsageError (exit 2) `f` throws. */
function refusal(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (!isHpcjobError(e)) throw e;
    expect(e.exitCode).toBe(2);
    return e.message;
  }
  throw new Error("expected a UsageError");
}

describe("the listing", () => {
  const OLD = "127.0.0.1_5443+lab+moving+1+dc61e143adef.sqfs";
  const NEW = "127.0.0.1_5443+lab+moving+1+0123456789ab.sqfs";
  const stdout = [
    entry("f", 73965568, OLD),
    entry("f", 300, `${OLD}.json`, record("docker://127.0.0.1:5443/lab/moving:1", D1, "2026-11-23T14:06:30Z")),
    entry("f", 0, `${OLD}.lock`),
    entry("f", 1024, NEW),
    entry("f", 300, `${NEW}.json`, record("docker://127.0.0.1:5443/lab/moving:1", D3, "2026-11-24T09:00:00Z")),
    entry("f", 5000, "zz hand\tcopied.sif"),
    entry("d", 4096, "pytorch", "104096\t/home/alice/.hpcjob/images/pytorch\n"),
    entry("l", 7, "dangling.sif"),
    entry("f", 4096, ".127.0.0.1_5443+lab+new+1+aaaaaaaaaaaa.part-4242.sqfs"),
    entry("f", 0, "127.0.0.1_5443+lab+new+1+aaaaaaaaaaaa.sqfs.lock"),
    entry("f", 300, "gone.sif.json", record("docker://x/gone:1", D2, "2026-11-25T00:00:00Z")),
    entry("f", 11, "broken.sif"),
    entry("f", 9, "broken.sif.json", "not json"),
    entry("f", 0, "last.sif"),
    entry("f", 300, "last.sif.json", record("docker://x/last:1", D2, "2026-11-20T00:00:00Z")),
  ].join("");

  it("lists every image, newest conversion first, then files without a record by name; not records, locks or partial files", () => {
    const images = parseListing(stdout, DIR);
    expect(images.map((i) => i.name)).toEqual([NEW, OLD, "last.sif", "broken.sif", "dangling.sif", "pytorch", "zz hand\tcopied.sif"]);
    expect(images[1]).toEqual({
      name: OLD,
      path: `${DIR}/${OLD}`,
      size: 73965568,
      ref: "docker://127.0.0.1:5443/lab/moving:1",
      digest: D1,
      platform: "linux/amd64",
      converter: "ch-image 0.31",
      date: "2026-11-23T14:06:30Z",
    });
    expect(images.find((i) => i.name === "pytorch")).toEqual({ name: "pytorch", path: `${DIR}/pytorch`, size: 104096, folder: true });
    expect(images.find((i) => i.name === "dangling.sif")).toEqual({ name: "dangling.sif", path: `${DIR}/dangling.sif` });
    // The record that ends the listing is read too.
    expect(images.find((i) => i.name === "last.sif")?.digest).toBe(D2);
    expect(images.find((i) => i.name === "broken.sif")).toEqual({ name: "broken.sif", path: `${DIR}/broken.sif`, size: 11 });
  });

  it("an empty folder has no images", () => {
    expect(parseListing("", DIR)).toEqual([]);
  });

  it("is one find over the folder as argv, records read only when small", () => {
    const argv = listArgv(DIR);
    expect(argv.slice(0, 3)).toEqual(["find", "-L", DIR]);
    expect(argv).toContain("-65536c");
    expect(argv.filter((a) => a.includes(DIR))).toEqual([DIR]);
  });

  it("reads as a table with sizes people read, the short digest, and '-' for what no record says", () => {
    const images = parseListing(stdout, DIR);
    const text = imageListText({ cluster: "vera", dir: DIR, images });
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^NAME +SIZE +CONVERTED +DIGEST +IMAGE$/);
    expect(lines[2]).toMatch(
      new RegExp(
        `^${OLD.replaceAll("+", "\\+").replaceAll(".", "\\.")} +71 MiB +2026-11-23T14:06:30Z +dc61e143adef +docker://127\\.0\\.0\\.1:5443/lab/moving:1$`,
      ),
    );
    expect(lines.find((l) => l.startsWith("pytorch/"))).toMatch(/^pytorch\/ +102 KiB +- +- +-$/);
    expect(lines.at(-1)).toBe(`7 images, 71 MiB in ${DIR}; run one with --image ${DIR}/NAME`);
    expect(imageListText({ cluster: "vera", dir: DIR, images: [] })).toBe(
      `no images in ${DIR}; convert one with: hpcjob image convert docker://IMAGE:TAG --cluster vera`,
    );
  });
});

describe("what image rm takes", () => {
  it.each([
    ["127.0.0.1_5443+lab+jupyter+1+dc61e143adef.sqfs", { by: "name", name: "127.0.0.1_5443+lab+jupyter+1+dc61e143adef.sqfs" }],
    ["./x.sif", { by: "name", name: "x.sif" }],
    ["dc61e143adef", { by: "digest", prefix: "sha256:dc61e143adef" }],
    [D1, { by: "digest", prefix: D1 }],
    ["docker://ubuntu:22.04", { by: "ref", ref: "docker://docker.io/library/ubuntu:22.04", typed: "docker://ubuntu:22.04" }],
    ["/scratch/images/x.sif", { by: "path", path: { under: "root", path: "/scratch/images/x.sif" } }],
    ["~/.hpcjob/images/x.sif", { by: "path", path: { under: "home", path: ".hpcjob/images/x.sif" } }],
    ["dc61e143ade", { by: "name", name: "dc61e143ade" }],
  ])("%s", (what, target) => {
    expect(parseRmTarget(what)).toEqual(target);
  });

  it.each([
    ["", "image rm needs the image: a file name, a docker:// reference or a digest (see: hpcjob image ls)"],
    ["sha256:dc61e1", /^image rm "sha256:dc61e1" is not a digest hpcjob takes: give sha256: and 12 to 64 lowercase hex digits/],
    ["../x.sif", /^image rm "\.\.\/x\.sif" is not a file in the image folder; give its name as hpcjob image ls shows it/],
    ["sub/x.sif", /is not a file in the image folder/],
    ["docker://Lab/x", /has capital letters/],
  ])("refuses %j", (what, message) => {
    const m = refusal(() => parseRmTarget(what));
    if (typeof message === "string") expect(m).toBe(message);
    else expect(m).toMatch(message);
  });

  it("takes a path only in the folder itself, compared once the home folder is known when it must be", () => {
    const inside = parseRmTarget("~/.hpcjob/images/x.sif");
    expect(nameInFolder(inside, HOME_DIR)).toBe("x.sif");
    expect(nameInFolder(parseRmTarget(`${DIR}/x.sif`), HOME_DIR)).toBeUndefined();
    expect(nameInFolder(parseRmTarget(`${DIR}/x.sif`), HOME_DIR, "/home/alice")).toBe("x.sif");
    expect(nameInFolder(parseRmTarget("/scratch/x.sif"), { under: "root", path: "/scratch" })).toBe("x.sif");
    expect(refusal(() => nameInFolder(parseRmTarget("/etc/passwd"), HOME_DIR, "/home/alice"))).toBe(
      `/etc/passwd is not in the image folder ${DIR}; hpcjob image rm removes only the images there (see: hpcjob image ls)`,
    );
    expect(refusal(() => nameInFolder(parseRmTarget("~/.hpcjob/images/sub/x.sif"), HOME_DIR))).toMatch(
      /^~\/\.hpcjob\/images\/sub\/x\.sif is not in the image folder ~\/\.hpcjob\/images;/,
    );
    expect(refusal(() => nameInFolder(parseRmTarget(`${DIR}/../x.sif`), HOME_DIR, "/home/alice"))).toMatch(
      /^\/home\/alice\/\.hpcjob\/x\.sif is not in the image folder/,
    );
    expect(refusal(() => nameInFolder(parseRmTarget("/scratch/other/x.sif"), { under: "root", path: "/scratch" }))).toMatch(
      /is not in the image folder \/scratch;/,
    );
  });

  const image = (name: string, ref?: string, digest?: string): ImageFile => ({ name, path: `${DIR}/${name}`, size: 1, ref, digest });
  const IMAGES = [
    image("a.sqfs", "docker://127.0.0.1:5443/lab/moving:1", D1),
    image("b.sqfs", "docker://127.0.0.1:5443/lab/moving:1", D3),
    image("c.sqfs", "docker://127.0.0.1:5443/lab/jupyter:1", D1),
    image("d.sqfs", "docker://127.0.0.1:5443/lab/other:1", D2),
    image("hand.sif"),
  ];

  it("matches a reference's every file, a digest's every file, a name's one", () => {
    const names = (what: string) => {
      const t = parseRmTarget(what);
      return matchImages(t, IMAGES, nameInFolder(t, HOME_DIR)).map((i) => i.name);
    };
    expect(names("docker://127.0.0.1:5443/lab/moving:1")).toEqual(["a.sqfs", "b.sqfs"]);
    expect(names("docker://127.0.0.1:5443/lab/moving")).toEqual([]);
    expect(names(D1)).toEqual(["a.sqfs", "c.sqfs"]);
    expect(names("0123456789ab")).toEqual(["b.sqfs"]);
    expect(names("hand.sif")).toEqual(["hand.sif"]);
    expect(names("~/.hpcjob/images/a.sqfs")).toEqual(["a.sqfs"]);
    expect(names("nothing.sif")).toEqual([]);
    expect(refusal(() => names("dc61e143adef"))).toBe(
      `sha256:dc61e143adef is the start of 2 digests (${D1}, ${D2}); give more of its hex digits`,
    );
  });

  it("removes under every lock without waiting, as argv, with each image's record and lock", () => {
    expect(removeArgv(IMAGES.slice(0, 2))).toEqual([
      ...["flock", "-n", "--", `${DIR}/a.sqfs.lock`, "flock", "-n", "--", `${DIR}/b.sqfs.lock`],
      ...["rm", "-f", "--", `${DIR}/a.sqfs`, `${DIR}/a.sqfs.json`, `${DIR}/a.sqfs.lock`],
      ...[`${DIR}/b.sqfs`, `${DIR}/b.sqfs.json`, `${DIR}/b.sqfs.lock`],
    ]);
  });

  it("says what it removed: one image with what it held, several one per line", () => {
    expect(imagesRemovedText({ cluster: "vera", dir: DIR, what: "a.sqfs", removed: [IMAGES[0] as ImageFile] })).toBe(
      `removed ${DIR}/a.sqfs (1 B, docker://127.0.0.1:5443/lab/moving:1, digest dc61e143adef) with its record and lock`,
    );
    expect(
      imagesRemovedText({ cluster: "vera", dir: DIR, what: "docker://127.0.0.1:5443/lab/moving:1", removed: IMAGES.slice(0, 2) }),
    ).toBe(
      `docker://127.0.0.1:5443/lab/moving:1 named 2 images in ${DIR}; removed them all (2 images, 2 B):\n  a.sqfs  1 B  dc61e143adef\n  b.sqfs  1 B  0123456789ab`,
    );
  });
});

describe("sizes", () => {
  it.each([
    [undefined, "-"],
    [0, "0 B"],
    [1023, "1023 B"],
    [1536, "1.5 KiB"],
    [73965568, "71 MiB"],
    [10 * 1024 * 1024 - 1, "10 MiB"],
    [5 * 1024 ** 3, "5.0 GiB"],
    [3 * 1024 ** 4, "3.0 TiB"],
  ])("%s bytes read %s", (n, text) => {
    expect(bytesText(n)).toBe(text);
  });
});
