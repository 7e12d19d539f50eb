/**
 * Rendered Charliecloud batch scripts run by bash with Debian's real ch-run
 * and the real test image (test/cluster/images.sh builds it), outside Slurm:
 * where the job's folder is inside the container (under $HOME, through a
 * profile's bind, or bound at its own path), and a GPU job on a node where
 * `ch-fromhost --nvidia` finds no NVIDIA libraries. No stand-in.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type LoadedProfile, loadProfile } from "../../src/profile/load.js";
import { renderScript } from "../../src/render/render.js";
import { ROOT, requestFor, tempDir } from "../helpers.js";

const MANIFEST = "/var/cache/hpcjob-test-images/images.json";
const work = tempDir("hpcjob-charliecloud-");
const HOME = join(work, "home");
const SCRATCH = join(work, "scratch");
let image = "";
let marker = "";
let loaded: LoadedProfile;

beforeAll(async () => {
  if (!existsSync(MANIFEST)) throw new Error(`${MANIFEST} is missing; build the test images with: sudo bash test/cluster/images.sh`);
  const manifest = JSON.parse(readFileSync(MANIFEST, "utf8"));
  image = manifest.images.nojupyter.charliecloudSqfs;
  marker = manifest.marker.text;
  const l = await loadProfile(
    { env: { HPCJOB_CLUSTERS: join(ROOT, "test", "fixtures", "clusters") }, home: "/nonexistent-home" },
    "rt-charliecloud",
  );
  // The image has /mnt/0 to bind onto; ch-run cannot make a mount point in a read-only image.
  loaded = { ...l, profile: { ...l.profile, container: { ...l.profile.container, binds: [`${SCRATCH}:/mnt/0`] } } };
  for (const dir of [join(HOME, "proj"), join(SCRATCH, "proj"), join(work, "elsewhere")]) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "here.txt"), dir);
  }
});

/** Render a batch job that runs `sh -c SCRIPT` in `workdir` (with `flags`), run it with bash, and return what it printed. */
function run(workdir: string, script: string, flags: { gpus?: string; image?: string } = {}) {
  const req = requestFor(
    loaded,
    { image, gpus: "0", ...flags },
    { kind: "batch", argv: ["/bin/sh", "-c", script], explicit: true },
    workdir,
  );
  const file = join(work, "job.sbatch");
  writeFileSync(file, renderScript(req, join(work, "run")));
  // No USER: the script takes it from id, as ch-run needs it.
  const r = spawnSync("bash", [file], { cwd: workdir, encoding: "utf8", env: { PATH: "/usr/bin:/bin", HOME } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("the job's folder inside the container", () => {
  const where = 'pwd -P; cat here.txt; echo; cat /etc/hpcjob-test-image; echo "HOME=$HOME"';

  it("under $HOME is reached through ch-run --home, at /home/$USER", () => {
    const r = run(join(HOME, "proj"), where);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.stdout.split("\n")).toEqual(["/home/root/proj", join(HOME, "proj"), marker, "HOME=/home/root", ""]);
    expect(r.status).toBe(0);
  });

  it("under a profile's bind is reached through it", () => {
    const r = run(join(SCRATCH, "proj"), where);
    expect(r.stdout.split("\n").slice(0, 3), r.stderr).toEqual(["/mnt/0/proj", join(SCRATCH, "proj"), marker]);
    expect(r.status).toBe(0);
  });

  it("elsewhere is bound at its own path (here under /tmp, which ch-run shares)", () => {
    const r = run(join(work, "elsewhere"), where);
    expect(r.stdout.split("\n").slice(0, 3), r.stderr).toEqual([join(work, "elsewhere"), join(work, "elsewhere"), marker]);
    expect(r.status).toBe(0);
  });
});

describe("GPU jobs on a site with container.charliecloud.fromhostNvidia", () => {
  it("stop before the program when ch-fromhost --nvidia fails, with its words and what it needs", () => {
    const dir = join(work, "image-dir");
    mkdirSync(dir, { recursive: true });
    const r = run(join(HOME, "proj"), "echo the program ran", { gpus: "1", image: dir });
    expect(r.stderr).toContain("ch-fromhost: nvidia-container-cli failed; does this host have GPUs?");
    expect(r.stderr).toContain("hpcjob: ch-fromhost --nvidia failed (see above); it needs an image directory you can write");
    expect(r.stdout).not.toContain("the program ran");
    expect(r.status).toBe(1);
  });
});
