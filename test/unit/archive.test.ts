/**
 * Reading an image archive's identity without unpacking it: a `docker save`
 * tar's config digest (its image ID) and an OCI archive's manifest digest,
 * from archives made here with tar (GNU, pax and ustar headers, members
 * past 100 characters, a 1 MiB layer seeked over), its layers (as the tar
 * names them, links followed) and run config, the same read from the tar as
 * it streams past (TarScanner), and the one-line refusals for what is not
 * such an archive.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UsageError } from "../../src/core/errors.js";
import { archiveImage, imageInTar, readTar, TarScanner } from "../../src/image/archive.js";

const dir = mkdtempSync(join(tmpdir(), "hpcjob-archive-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: string | Buffer) => createHash("sha256").update(b).digest("hex");

/** A folder's files as a tar in `format`; `files` maps names to contents, `links` names to symbolic links' targets. */
function tarOf(name: string, files: Record<string, string | Buffer>, format = "gnu", links: Record<string, string> = {}): string {
  const src = join(dir, `${name}.d`);
  for (const [f, data] of Object.entries(files)) {
    mkdirSync(join(src, f, ".."), { recursive: true });
    writeFileSync(join(src, f), data);
  }
  for (const [f, target] of Object.entries(links)) {
    mkdirSync(join(src, f, ".."), { recursive: true });
    symlinkSync(target, join(src, f));
  }
  const out = join(dir, `${name}.tar`);
  execFileSync("tar", [`--format=${format}`, "-cf", out, "-C", src, "."]);
  return out;
}

const CONFIG = JSON.stringify({ architecture: "amd64", os: "linux", config: {} });
const CONFIG_HEX = sha(CONFIG);
const LAYER = Buffer.alloc(1024 * 1024 + 7, 1);

/** A docker save tar: a layer, the config named by its digest, manifest.json last as docker writes it. */
function dockerSave(name: string, format: string, extra: Record<string, string> = {}): string {
  return tarOf(
    name,
    {
      [`${sha(LAYER)}.tar`]: LAYER,
      [`${CONFIG_HEX}.json`]: CONFIG,
      ...extra,
      "manifest.json": JSON.stringify([{ Config: `${CONFIG_HEX}.json`, RepoTags: ["docker.io/lab/app:1"], Layers: [`${sha(LAYER)}.tar`] }]),
    },
    format,
  );
}

describe("docker-archive:", () => {
  it.each(["gnu", "pax", "ustar"])(
    "reads the config digest (the image ID) and platform from a %s tar, seeking past a layer",
    async (format) => {
      const file = dockerSave(`docker-${format}`, format);
      expect(await archiveImage({ kind: "docker-archive", path: file }, file)).toEqual({
        digest: `sha256:${CONFIG_HEX}`,
        platform: "linux/amd64",
        layers: [`./${sha(LAYER)}.tar`],
        config: {},
      });
    },
  );

  it("finds members after a name longer than 100 characters (GNU and pax long names)", async () => {
    const long = `${"d".repeat(80)}/${"e".repeat(80)}/layer.tar`;
    for (const format of ["gnu", "pax"]) {
      const file = dockerSave(`long-${format}`, format, { [long]: "x" });
      const m = await readTar(file, ["manifest.json", long]);
      expect(m.get(long)?.data?.toString()).toBe("x");
      expect(m.get(long)?.raw).toBe(`./${long}`);
      expect(m.has("manifest.json")).toBe(true);
    }
  });

  it("picks the image named after the path, and refuses a name the archive lacks with the ones it has", async () => {
    const file = dockerSave("named", "gnu");
    expect((await archiveImage({ kind: "docker-archive", path: file, ref: "lab/app:1" }, file)).digest).toBe(`sha256:${CONFIG_HEX}`);
    await expect(archiveImage({ kind: "docker-archive", path: file, ref: "lab/other:2" }, file)).rejects.toThrow(
      /has no image tagged lab\/other:2 \(it has docker\.io\/lab\/app:1\)/,
    );
  });

  it("refuses a tar without manifest.json, a compressed file and a missing file, each in one line", async () => {
    const plain = tarOf("plain", { "hello.txt": "hi" });
    await expect(archiveImage({ kind: "docker-archive", path: plain }, plain)).rejects.toThrow(
      /has no manifest\.json: it is not a docker-archive/,
    );
    const gz = join(dir, "image.tar.gz");
    writeFileSync(gz, execFileSync("gzip", ["-c", dockerSave("gz", "gnu")]));
    await expect(archiveImage({ kind: "docker-archive", path: gz }, gz)).rejects.toThrow(/is not a tar archive \(a compressed one\?/);
    await expect(archiveImage({ kind: "docker-archive", path: join(dir, "nope.tar") }, join(dir, "nope.tar"))).rejects.toBeInstanceOf(
      UsageError,
    );
  });
});

describe("oci-archive:", () => {
  const manifest = JSON.stringify({ schemaVersion: 2, config: { digest: `sha256:${CONFIG_HEX}` }, layers: [] });
  const other = JSON.stringify({ schemaVersion: 2, config: { digest: `sha256:${"0".repeat(64)}` }, layers: [] });
  const index = (entries: { digest: string; name?: string }[]) =>
    JSON.stringify({
      schemaVersion: 2,
      manifests: entries.map((e) => ({
        digest: e.digest,
        ...(e.name ? { annotations: { "org.opencontainers.image.ref.name": e.name } } : {}),
      })),
    });
  const layout = (name: string, entries: { digest: string; name?: string }[]) =>
    tarOf(name, {
      "oci-layout": '{"imageLayoutVersion":"1.0.0"}',
      [`blobs/sha256/${CONFIG_HEX}`]: CONFIG,
      [`blobs/sha256/${sha(manifest)}`]: manifest,
      [`blobs/sha256/${sha(other)}`]: other,
      "index.json": index(entries),
    });

  it("reads the manifest digest from index.json (members named ./index.json too) and the platform from its config", async () => {
    const file = layout("oci-one", [{ digest: `sha256:${sha(manifest)}` }]);
    expect(await archiveImage({ kind: "oci-archive", path: file }, file)).toEqual({
      digest: `sha256:${sha(manifest)}`,
      platform: "linux/amd64",
      layers: [],
      config: {},
    });
  });

  it("picks the manifest named after the path, and asks for a name when there are several", async () => {
    const file = layout("oci-two", [
      { digest: `sha256:${sha(manifest)}`, name: "app" },
      { digest: `sha256:${sha(other)}`, name: "other" },
    ]);
    expect((await archiveImage({ kind: "oci-archive", path: file, ref: "other" }, file)).digest).toBe(`sha256:${sha(other)}`);
    expect((await archiveImage({ kind: "oci-archive", path: file, ref: "other" }, file)).platform).toBe("unknown");
    await expect(archiveImage({ kind: "oci-archive", path: file }, file)).rejects.toThrow(
      /holds 2 images; name one: oci-archive:.*:NAME \(it has app, other\)/,
    );
  });
});

describe("the layers and run config, for the runtimes whose files hpcjob builds from the layers", () => {
  const RUN = { Env: ["PATH=/usr/bin:/bin", "A=it's"], Cmd: ["python3"], WorkingDir: "/w", Labels: { x: "y" } };
  const config = JSON.stringify({ architecture: "amd64", os: "linux", config: RUN, rootfs: { type: "layers" } });
  const configHex = sha(config);
  const layers = ["one", "two", "three"].map((t) => Buffer.from(t.repeat(300)));

  /** An older docker save: each layer a folder whose layer.tar links to the shared one (two images shared "one"). */
  function oldDockerSave(name: string): string {
    const files: Record<string, string | Buffer> = { [`${configHex}.json`]: config };
    const links: Record<string, string> = {};
    layers.forEach((l, i) => {
      if (i === 0) {
        files[`${sha(l)}.tar`] = l;
        links[`id${i}/layer.tar`] = `../${sha(l)}.tar`;
      } else files[`id${i}/layer.tar`] = l;
    });
    files["manifest.json"] = JSON.stringify([
      { Config: `${configHex}.json`, RepoTags: ["lab/app:1"], Layers: layers.map((_, i) => `id${i}/layer.tar`) },
    ]);
    return tarOf(name, files, "gnu", links);
  }

  it("a docker save's layers in manifest order, as the tar names them, a linked layer followed to its target; the config's Env, Cmd...", async () => {
    const file = oldDockerSave("old-docker");
    const image = await archiveImage({ kind: "docker-archive", path: file }, file);
    expect(image.layers).toEqual([`./${sha(layers[0] as Buffer)}.tar`, "./id1/layer.tar", "./id2/layer.tar"]);
    expect(image.config).toEqual(RUN);
  });

  it("an OCI archive's layers are its manifest's blobs, bottom first", async () => {
    const manifest = JSON.stringify({
      schemaVersion: 2,
      config: { digest: `sha256:${configHex}` },
      layers: layers.map((l) => ({ digest: `sha256:${sha(l)}` })),
    });
    const files: Record<string, string | Buffer> = {
      "oci-layout": "{}",
      [`blobs/sha256/${configHex}`]: config,
      [`blobs/sha256/${sha(manifest)}`]: manifest,
      "index.json": JSON.stringify({ schemaVersion: 2, manifests: [{ digest: `sha256:${sha(manifest)}` }] }),
    };
    for (const l of layers) files[`blobs/sha256/${sha(l)}`] = l;
    const file = tarOf("oci-layers", files);
    const image = await archiveImage({ kind: "oci-archive", path: file }, file);
    expect(image.layers).toEqual(layers.map((l) => `./blobs/sha256/${sha(l)}`));
    expect(image.config).toEqual(RUN);
  });

  it("refuses an archive that lacks a layer its manifest names", async () => {
    const file = tarOf("no-layer", {
      [`${configHex}.json`]: config,
      "manifest.json": JSON.stringify([{ Config: `${configHex}.json`, Layers: ["missing/layer.tar"] }]),
    });
    await expect(archiveImage({ kind: "docker-archive", path: file }, file)).rejects.toThrow(
      /lacks the layer missing\/layer\.tar its manifest names/,
    );
  });

  it.each([7, 511, 512, 100_000])(
    "reads the same from the tar streamed past in chunks of %i bytes (docker save on its way to the cluster)",
    async (size) => {
      const file = oldDockerSave(`streamed-${size}`);
      const bytes = readFileSync(file);
      const scanner = new TarScanner("docker save lab/app:1");
      for (let at = 0; at < bytes.length; at += size) scanner.push(bytes.subarray(at, at + size));
      expect(await imageInTar("docker-archive", scanner.read, scanner.label, undefined)).toEqual(
        await archiveImage({ kind: "docker-archive", path: file }, file),
      );
    },
  );

  it("a stream that is no tar is refused in one line naming it, when read (pushing never throws: it runs inside the stream)", async () => {
    const scanner = new TarScanner("docker save lab/app:1");
    scanner.push(Buffer.alloc(1024, 65));
    scanner.push(Buffer.alloc(1024, 0));
    await expect(scanner.read(["manifest.json"])).rejects.toThrow(/docker save lab\/app:1 is not a tar archive/);
  });
});
