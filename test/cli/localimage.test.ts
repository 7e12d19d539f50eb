/**
 * `jupyter|batch --image` with an image on this computer (`docker-archive:`,
 * `oci-archive:`, `docker-daemon:`), through the built CLI: a dry run reads
 * the image's identity here and names the file it converts to on the cluster
 * (nothing is sent or converted); a path is this computer's, relative to the
 * folder hpcjob runs in (or in hpcjob.yaml, to the project's); one that is
 * not there is refused in one line, exit 2, before anything reaches a cluster.
 * The real thing, from alice's laptop, is in test/e2e/daemon.e2e.test.ts.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, runCli, tempDir } from "../helpers.js";

const ENV = { HPCJOB_CLUSTERS: join(ROOT, "test", "fixtures", "clusters") };

/** A docker save tar of an empty image (tagged lab/app:1) in `dir`, and its config digest (the image ID). */
function dockerSave(dir: string, name = "app.tar"): string {
  const config = JSON.stringify({ architecture: "amd64", os: "linux", config: { Env: ["A=1"] } });
  const hex = createHash("sha256").update(config).digest("hex");
  const src = join(dir, "src");
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, `${hex}.json`), config);
  writeFileSync(join(src, "manifest.json"), JSON.stringify([{ Config: `${hex}.json`, RepoTags: ["lab/app:1"], Layers: [] }]));
  execFileSync("tar", ["-cf", join(dir, name), "-C", src, "."]);
  return hex;
}

describe("batch --image docker-archive: --dry-run", () => {
  it("reads the archive's digest here and runs the file it converts to; a relative path is this folder's", () => {
    const dir = tempDir("hpcjob-cli-local-");
    const hex = dockerSave(dir);
    const r = runCli(["batch", "--cluster", "rt-singularity", "--image", "docker-archive:app.tar", "--dry-run", "--", "python", "x.py"], {
      env: ENV,
      cwd: dir,
    });
    expect(r.stderr).toContain(`the job runs `);
    expect(r.stderr).toContain(`/archive+app+${hex.slice(0, 12)}.sif, converted from docker-archive:${join(dir, "app.tar")} first`);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`singularity exec .*/archive\\+app\\+${hex.slice(0, 12)}\\.sif "\\$@"`));
    expect(r.stdout).not.toContain("docker-archive:");
  });

  it("hpcjob.yaml's image: docker-archive: is the project folder's file", () => {
    const dir = tempDir("hpcjob-cli-local-");
    const hex = dockerSave(dir, "build.tar");
    writeFileSync(join(dir, "hpcjob.yaml"), "image: docker-archive:build.tar\n");
    const r = runCli(["batch", "--cluster", "rt-singularity", "--dry-run", "--", "true"], { env: ENV, cwd: dir });
    expect(r.stderr).toContain(`converted from docker-archive:${join(dir, "build.tar")} first`);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`/archive+build+${hex.slice(0, 12)}.sif`);
  });

  it("jupyter takes it too", () => {
    const dir = tempDir("hpcjob-cli-local-");
    const hex = dockerSave(dir);
    const r = runCli(["jupyter", "--cluster", "rt-singularity", "--image", `oci-archive:${join(dir, "missing.tar")}`, "--dry-run"], {
      env: ENV,
      cwd: dir,
    });
    expect(r.stderr).toBe(`hpcjob: oci-archive:${join(dir, "missing.tar")}: there is no file ${join(dir, "missing.tar")}\n`);
    expect(r.status).toBe(2);
    const ok = runCli(["jupyter", "--cluster", "rt-singularity", "--image", "docker-archive:app.tar", "--dry-run"], { env: ENV, cwd: dir });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`/archive+app+${hex.slice(0, 12)}.sif`);
  });
});

describe("batch --image with a local image", () => {
  it("a file that is not there: one line, exit 2", () => {
    const r = runCli(
      ["batch", "--cluster", "rt-singularity", "--image", "docker-archive:/nonexistent/app.tar", "--dry-run", "--", "true"],
      {
        env: ENV,
      },
    );
    expect(r.stderr).toBe("hpcjob: docker-archive:/nonexistent/app.tar: there is no file /nonexistent/app.tar\n");
    expect(r.status).toBe(2);
  });

  it("is converted for enroot too: the .sqsh its digest makes is what the job runs", () => {
    const dir = tempDir("hpcjob-cli-local-");
    const hex = dockerSave(dir);
    const r = runCli(["batch", "--cluster", "rt-enroot", "--image", "docker-archive:app.tar", "--dry-run", "--", "true"], {
      env: ENV,
      cwd: dir,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`/archive+app+${hex.slice(0, 12)}.sqsh`);
  });
});
