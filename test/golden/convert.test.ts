/**
 * The conversion script (`image convert`) for every profile with a container
 * runtime (clusters/ and the rt-* test profiles), with a fixed resolved
 * image, against saved scripts that pass `bash -n` and `shellcheck -S
 * warning`. A profile without a saved script fails: write them with
 * UPDATE_GOLDEN=1 npx vitest run test/golden and review the diff.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { conversionRequest, fromArchive, type ImageToConvert } from "../../src/image/conversion.js";
import { loadProfile } from "../../src/profile/load.js";
import { renderConversion } from "../../src/render/convert.js";
import { BUILTIN_CLUSTERS, RUNTIME_FIXTURES, ROOT } from "../helpers.js";

const GOLDEN = join(ROOT, "test", "golden");
const ENV = { env: { HPCJOB_CLUSTERS: join(ROOT, "test", "fixtures", "clusters") }, home: "/nonexistent-home" };

const IMAGE: ImageToConvert = {
  ref: "docker://nvcr.io/nvidia/pytorch:24.01-py3",
  source: "docker://nvcr.io/nvidia/pytorch:24.01-py3",
  digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
  platform: "linux/amd64",
  size: 9_876_543_210,
  stem: "nvcr.io+nvidia+pytorch+24.01-py3-0123456789ab",
};

/** The source as each runtime's converter reads it: enroot spells the registry HOST#PATH. */
const SOURCE: Record<string, string> = { enroot: "docker://nvcr.io#nvidia/pytorch:24.01-py3" };

/** The log a conversion's run directory gives it. */
const LOG = "/home/alice/.hpcjob/runs/20261123-101500-convert/job.log";

const profiles = [...BUILTIN_CLUSTERS, ...RUNTIME_FIXTURES].filter((name) => name !== "rt-none");

describe.each(profiles)("%s image convert", (cluster) => {
  const file = join(GOLDEN, `${cluster}.convert.sh`);

  it("renders the saved script", async () => {
    const { profile } = await loadProfile(ENV, cluster);
    const converter = profile.container.runtime === "pyxis" ? "enroot" : profile.container.runtime;
    const req = conversionRequest(profile, { ...IMAGE, source: SOURCE[converter] ?? IMAGE.source }, false);
    const script = renderConversion(req, LOG);
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(file, script);
    expect(existsSync(file), `${file} is missing: write it with UPDATE_GOLDEN=1 npx vitest run test/golden and review it`).toBe(true);
    expect(script).toBe(readFileSync(file, "utf8"));
  });

  it("passes bash -n and shellcheck -S warning", () => {
    const syntax = spawnSync("bash", ["-n", file], { encoding: "utf8" });
    expect(syntax.stderr).toBe("");
    const lint = spawnSync("shellcheck", ["-S", "warning", "-s", "bash", file], { encoding: "utf8" });
    expect(lint.stdout).toBe("");
    expect(lint.status).toBe(0);
  });
});

describe("a conversion in a Slurm job (convertOn: job)", () => {
  const file = join(GOLDEN, "vera-job.convert.sh");

  it("has the job's #SBATCH lines, sorted and quoted, the site's directives with them, and its log in the run directory", async () => {
    const { profile } = await loadProfile(ENV, "vera");
    const onJob = { ...profile, container: { ...profile.container, convertOn: "job" as const, convertPartition: "vera", cacheDir: "/mimer/NOBACKUP/groups/lab/cache", tmpDir: "~/scratch" } };
    const script = renderConversion(conversionRequest(onJob, IMAGE, false, "C3SE2024-1-2"), LOG);
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(file, script);
    expect(existsSync(file), `${file} is missing: write it with UPDATE_GOLDEN=1 npx vitest run test/golden and review it`).toBe(true);
    expect(script).toBe(readFileSync(file, "utf8"));
    expect(spawnSync("bash", ["-n", file], { encoding: "utf8" }).stderr).toBe("");
    const lint = spawnSync("shellcheck", ["-S", "warning", "-s", "bash", file], { encoding: "utf8" });
    expect(lint.stdout).toBe("");
  });
});

describe("an image sent from the user's computer (docker-daemon: on an Apptainer cluster)", () => {
  const file = join(GOLDEN, "rt-singularity-sent.convert.sh");

  it("reads the docker-archive: file it was sent to, and removes that file however it ends", async () => {
    const { profile } = await loadProfile(ENV, "rt-singularity");
    const sent = "/tmp/hpcjob-image.Ab12Cd34";
    const image: ImageToConvert = {
      ref: "docker-daemon:lab/app:1",
      source: `docker-archive:${sent}`,
      digest: IMAGE.digest,
      platform: "linux/amd64",
      size: 123_456_789,
      stem: "daemon+lab+app+1+0123456789ab",
    };
    const script = renderConversion({ ...conversionRequest(profile, image, false), sent }, LOG);
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(file, script);
    expect(existsSync(file), `${file} is missing: write it with UPDATE_GOLDEN=1 npx vitest run test/golden and review it`).toBe(true);
    expect(script).toBe(readFileSync(file, "utf8"));
    expect(spawnSync("bash", ["-n", file], { encoding: "utf8" }).stderr).toBe("");
    const lint = spawnSync("shellcheck", ["-S", "warning", "-s", "bash", file], { encoding: "utf8" });
    expect(lint.stdout).toBe("");
  });
});

describe.each([
  ["penn", "penn-archive.convert.sh"],
  ["rt-charliecloud", "rt-charliecloud-archive.convert.sh"],
])("a docker-archive: on %s, whose converter reads no archive", (cluster, name) => {
  const file = join(GOLDEN, name);

  it("builds the file from the archive's layers with the runtime's own files from the image's config, and passes bash -n and shellcheck", async () => {
    const { profile } = await loadProfile(ENV, cluster);
    const sent = "/tmp/hpcjob-image.Ab12Cd34";
    const image: ImageToConvert = {
      ref: "docker-archive:/home/alice/app.tar",
      source: `docker-archive:${sent}`,
      digest: IMAGE.digest,
      platform: "linux/amd64",
      size: 123_456_789,
      stem: "archive+app+0123456789ab",
    };
    const layers = ["a1b2/layer.tar", "blobs/sha256/c3d4", "it's a layer.tar"];
    const config = {
      Env: ["PATH=/usr/local/bin:/usr/bin:/bin", "GREETING=it's $HOME"],
      Cmd: ["python3", "-m", "http.server"],
      WorkingDir: "/work dir",
      Labels: { "org.example.title": "app\nline" },
      Volumes: { "/data": {} },
    };
    const req = { ...fromArchive(conversionRequest(profile, image, false), sent, layers, config), sent };
    const script = renderConversion(req, LOG);
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(file, script);
    expect(existsSync(file), `${file} is missing: write it with UPDATE_GOLDEN=1 npx vitest run test/golden and review it`).toBe(true);
    expect(script).toBe(readFileSync(file, "utf8"));
    expect(spawnSync("bash", ["-n", file], { encoding: "utf8" }).stderr).toBe("");
    const lint = spawnSync("shellcheck", ["-S", "warning", "-s", "bash", file], { encoding: "utf8" });
    expect(lint.stdout).toBe("");
  });
});
