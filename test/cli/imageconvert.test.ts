/**
 * `hpcjob image convert` as a user runs it (the built CLI), for input it
 * must refuse before anything runs: one line, exit 2 for what the user can
 * fix in the command, exit 1 with the cause when the registry cannot be
 * reached. The conversions themselves are in test/e2e/convert.e2e.test.ts.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, runCli } from "../helpers.js";

const ENV = { HPCJOB_CLUSTERS: join(ROOT, "test", "fixtures", "clusters") };

/** A port on 127.0.0.1 nothing listens on (free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as { port: number }).port;
  await new Promise((ok) => server.close(ok));
  return port;
}

describe("image convert refuses", () => {
  it.each([
    [
      ["oci:foo"],
      'hpcjob: image convert "oci:foo" is not an image hpcjob converts; it reads docker://, docker-daemon:, docker-archive: or oci-archive:, or the path of a .sif, .sqsh or .sqfs file',
    ],
    [
      ["oci-archive:/nonexistent/app.tar", "--cluster", "loopback-pyxis"],
      "hpcjob: oci-archive:/nonexistent/app.tar: there is no file /nonexistent/app.tar",
    ],
    [
      ["docker-archive:/nonexistent/app.tar", "--cluster", "rt-singularity"],
      "hpcjob: docker-archive:/nonexistent/app.tar: there is no file /nonexistent/app.tar",
    ],
    [
      ["./app.sif", "--cluster", "rt-singularity"],
      "hpcjob: hpcjob image convert reads docker://, docker-archive:, oci-archive: and docker-daemon: references (got ./app.sif); a .sif, .sqsh or .sqfs file is run as it is: hpcjob batch --image ./app.sif",
    ],
    [
      ["docker://127.0.0.1:5443/lab/jupyter:1", "--cluster", "rt-none"],
      "hpcjob: cluster rt-none runs jobs on the host (container.runtime: none); there is no image to convert for it",
    ],
  ])("%j with one line and exit 2", (args, line) => {
    const [image, ...more] = args;
    const r = runCli(["image", "convert", image ?? "", ...(more.length ? more : ["--cluster", "loopback-charliecloud"])], { env: ENV });
    expect(r.stderr).toBe(`${line}\n`);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
  });

  it("a registry that does not answer: exit 1, what failed and what to check", async () => {
    const port = await closedPort();
    const r = runCli(["image", "convert", `docker://127.0.0.1:${port}/lab/jupyter:1`, "--cluster", "loopback-charliecloud"], { env: ENV });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `hpcjob: cannot reach registry 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}; check the registry's host and port, and that it is running\n`,
    );
  });
});

describe("image convert docker-archive: --dry-run", () => {
  /** A docker save tar of one empty layer, in a new folder; its config digest. */
  function archive(dir: string, run: object = {}): string {
    const config = JSON.stringify({ architecture: "amd64", os: "linux", config: run });
    const hex = createHash("sha256").update(config).digest("hex");
    mkdirSync(join(dir, "src"));
    mkdirSync(join(dir, "layer"));
    execFileSync("tar", ["-cf", join(dir, "src", "l1.tar"), "-C", join(dir, "layer"), "."]);
    writeFileSync(join(dir, "src", `${hex}.json`), config);
    writeFileSync(
      join(dir, "src", "manifest.json"),
      JSON.stringify([{ Config: `${hex}.json`, RepoTags: ["lab/app:1"], Layers: ["l1.tar"] }]),
    );
    execFileSync("tar", ["-cf", join(dir, "app.tar"), "-C", join(dir, "src"), "."]);
    return hex;
  }

  it("reads the archive's config digest here and prints the script reading the file it would be sent to", () => {
    const dir = mkdtempSync(join(tmpdir(), "hpcjob-cli-archive-"));
    try {
      const hex = archive(dir);
      const r = runCli(["image", "convert", `docker-archive:${join(dir, "app.tar")}`, "--cluster", "rt-singularity", "--dry-run"], {
        env: ENV,
      });
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`hpcjob_digest=sha256:${hex}\n`);
      expect(r.stdout).toContain(`singularity build "$1" docker-archive:SCRATCH/hpcjob-image.XXXXXXXX >&2`);
      expect(r.stdout).toContain(`/archive+app+${hex.slice(0, 12)}.sif\n`);
      expect(r.stderr).toMatch(
        /dry run: docker-archive:.*app\.tar \(sha256:[0-9a-f]{64}\) would be sent to a new file in the cluster's scratch folder/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("on vera, whose home folder has a quota, names what the conversion writes there and the keys that move it", () => {
    const dir = mkdtempSync(join(tmpdir(), "hpcjob-cli-archive-"));
    try {
      const config = JSON.stringify({ architecture: "amd64", os: "linux" });
      const hex = createHash("sha256").update(config).digest("hex");
      mkdirSync(join(dir, "src"));
      writeFileSync(join(dir, "src", `${hex}.json`), config);
      writeFileSync(join(dir, "src", "manifest.json"), JSON.stringify([{ Config: `${hex}.json`, RepoTags: ["lab/app:1"], Layers: [] }]));
      execFileSync("tar", ["-cf", join(dir, "app.tar"), "-C", join(dir, "src"), "."]);
      const r = runCli(["image", "convert", `docker-archive:${join(dir, "app.tar")}`, "--cluster", "vera", "--dry-run"], { env: ENV });
      expect(r.status).toBe(0);
      expect(r.stderr).toContain(
        "hpcjob: cluster vera's home folder has a quota (30 GB and 60,000 files) and this conversion writes there: the image folder ($HOME/.hpcjob/images, container.imageDir) and apptainer's cache (~/.apptainer/cache, container.cacheDir unset); point those keys at project or group storage in the profile\n",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    ["rt-enroot", ".sqsh", "mksquashfs", "/etc/environment"],
    ["loopback-pyxis", ".sqsh", "mksquashfs", "/etc/rc"],
    ["loopback-charliecloud", ".sqfs", "ch-convert -i dir -o squash", "/ch/environment"],
  ])("on %s (no converter there reads an archive): the script builds the %s from the archive's layers", (cluster, ext, packs, file) => {
    const dir = mkdtempSync(join(tmpdir(), "hpcjob-cli-archive-"));
    try {
      const hex = archive(dir, { Env: ["GREETING=hello there"], Cmd: ["python3"] });
      const r = runCli(["image", "convert", `docker-archive:${join(dir, "app.tar")}`, "--cluster", cluster, "--dry-run"], { env: ENV });
      expect(r.stderr).toMatch(/dry run: docker-archive:/);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`/archive+app+${hex.slice(0, 12)}${ext}\n`);
      expect(r.stdout).toContain("hpcjob_archive=SCRATCH/hpcjob-image.XXXXXXXX\n");
      expect(r.stdout).toContain("hpcjob_layers=( ./l1.tar )\n");
      expect(r.stdout).toContain(packs);
      expect(r.stdout).toContain(`>"$root"${file}\n`);
      expect(r.stdout).toContain("GREETING=hello there");
      expect(r.stdout).not.toMatch(/^\s*(enroot import|ch-image) /m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
